/** Shapes of the back end's JSON (see backend/todo_backend/api/schemas.py). */
export interface Task {
  id: number;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
}

export type TaskStatus = "all" | "pending" | "completed";
export type TaskSort = "created" | "title";

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  result: unknown;
}

export interface ChatReply {
  conversation_id: number;
  response: string;
  tool_calls: ToolCall[];
}

/** The signed-in user as the pages see it. */
export interface SessionUser {
  id: string;
  name: string;
  email: string;
}
