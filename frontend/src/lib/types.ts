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

/** "offline": the command assistant built into the back end (no API key); "openai": a model. */
export type AssistantMode = "offline" | "openai";

export interface ChatReply {
  conversation_id: number;
  response: string;
  tool_calls: ToolCall[];
  mode: AssistantMode;
}

/** One event of `POST /chat/stream` (server-sent events, one JSON object per `data:` line). */
export type ChatEvent =
  | { type: "delta"; text: string }
  | ({ type: "tool_call" } & ToolCall)
  | ({ type: "done" } & ChatReply);

export interface ConversationSummary {
  id: number;
  title: string;
  created_at: string;
  updated_at: string;
}

export interface ConversationPage {
  items: ConversationSummary[];
  next_before: number | null;
}

export interface StoredMessage {
  id: number;
  role: "user" | "assistant";
  content: string;
  created_at: string;
  tool_calls: ToolCall[];
}

export interface Conversation extends ConversationSummary {
  messages: StoredMessage[];
}

/** The signed-in user as the pages see it. */
export interface SessionUser {
  id: string;
  name: string;
  email: string;
}
