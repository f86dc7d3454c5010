import { readEvents } from "./sse";
import { SessionExpired, bearerToken, forgetToken } from "./token";
import type {
  AssistantMode,
  ChatEvent,
  ChatReply,
  Conversation,
  ConversationPage,
  Task,
  TaskSort,
  TaskStatus,
} from "./types";

/** A back-end call that failed, with a sentence fit for the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }

  /** Whether the same request may work later: not for input the server refused. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export { SessionExpired };

interface ValidationDetail {
  loc?: (string | number)[];
  msg?: string;
}

const UNAVAILABLE = "The service is unavailable. Try again in a moment.";
const FIELD_NAMES: Record<string, string> = {
  title: "The title",
  description: "The description",
  message: "The message",
};

/** "String should have at most 200 characters" on `title` -> "The title is too long (...)". */
function sentenceFor(detail: ValidationDetail): string {
  const field = String(detail.loc?.at(-1) ?? "");
  const subject = FIELD_NAMES[field] ?? "The input";
  const msg = detail.msg ?? "";
  const most = /at most (\d+) character/.exec(msg);
  if (most) return `${subject} is too long (at most ${most[1]} characters).`;
  if (/at least 1 character|required|empty/i.test(msg)) return `${subject} can't be empty.`;
  return `${subject} is not valid: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}.`;
}

async function errorFrom(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
  if (response.status === 422 && Array.isArray(body.detail)) {
    const sentences = (body.detail as ValidationDetail[]).map(sentenceFor);
    return new ApiError([...new Set(sentences)].join(" "), 422);
  }
  if (response.status === 404) return new ApiError("That item no longer exists.", 404);
  if (response.status === 403) return new ApiError("You are not allowed to do that.", 403);
  if (response.status === 429) {
    return new ApiError("Too many requests. Wait a moment and try again.", 429);
  }
  if (response.status >= 500) return new ApiError(UNAVAILABLE, response.status);
  const detail = typeof body.detail === "string" ? body.detail : `error ${response.status}`;
  return new ApiError(`The request failed (${detail}).`, response.status);
}

async function authorization(): Promise<string> {
  try {
    return `Bearer ${await bearerToken()}`;
  } catch (error) {
    if (error instanceof SessionExpired) throw error;
    throw new ApiError("The sign-in service is unavailable. Try again in a moment.", 0);
  }
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", await authorization());
  if (init.body) headers.set("Content-Type", "application/json");
  try {
    return await fetch(path, { ...init, headers, cache: "no-store" });
  } catch {
    throw new ApiError("Cannot reach the server. Check your connection and try again.", 0);
  }
}

/** One call under `/api/{userId}`, retried once with a fresh token; the response is ok. */
async function request(userId: string, path: string, init: RequestInit = {}): Promise<Response> {
  const url = `/api/${encodeURIComponent(userId)}${path}`;
  let response = await send(url, init);
  if (response.status === 401) {
    forgetToken(); // the token may have expired between the check and the call: retry once
    response = await send(url, init);
    if (response.status === 401) throw new SessionExpired();
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function call<T>(userId: string, path: string, init: RequestInit = {}): Promise<T> {
  const response = await request(userId, path, init);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

const json = (body: unknown) => JSON.stringify(body);

/** A chat turn through `/chat/stream`, reporting each event; falls back to `/chat` when the back
 * end has no stream route. Resolves with the final reply. */
async function chatStream(
  userId: string,
  message: string,
  conversationId: number | null,
  onEvent: (event: ChatEvent) => void,
): Promise<ChatReply> {
  const body = json({ message, conversation_id: conversationId });
  let response: Response;
  try {
    response = await request(userId, "/chat/stream", {
      method: "POST",
      body,
      headers: { Accept: "text/event-stream" },
    });
  } catch (error) {
    if (!(error instanceof ApiError) || ![404, 405].includes(error.status)) throw error;
    return call<ChatReply>(userId, "/chat", { method: "POST", body });
  }
  let reply: ChatReply | undefined;
  try {
    await readEvents(response.body ?? new ReadableStream(), (data) => {
      const event = data as ChatEvent;
      if (event.type === "done") reply = event;
      onEvent(event);
    });
  } catch {
    throw new ApiError("The reply was cut off. Check your connection and try again.", 0);
  }
  if (!reply) throw new ApiError("The reply was cut off. Try again in a moment.", 0);
  return reply;
}

export const api = {
  listTasks: (userId: string, status: TaskStatus, sort: TaskSort) =>
    call<Task[]>(userId, `/tasks?${new URLSearchParams({ status, sort })}`),
  addTask: (userId: string, title: string, description: string) =>
    call<Task>(userId, "/tasks", { method: "POST", body: json({ title, description }) }),
  updateTask: (userId: string, id: number, title: string, description: string) =>
    call<Task>(userId, `/tasks/${id}`, { method: "PUT", body: json({ title, description }) }),
  toggleTask: (userId: string, id: number) =>
    call<Task>(userId, `/tasks/${id}/complete`, { method: "PATCH" }),
  // keepalive: a delete carried out as the page goes away still reaches the server.
  deleteTask: (userId: string, id: number) =>
    call<Task>(userId, `/tasks/${id}`, { method: "DELETE", keepalive: true }),
  chat: chatStream,
  assistantMode: async (userId: string) =>
    (await call<{ mode: AssistantMode }>(userId, "/assistant")).mode,
  listConversations: (userId: string, before?: number) =>
    call<ConversationPage>(
      userId,
      `/conversations?${new URLSearchParams({ limit: "20", ...(before ? { before: String(before) } : {}) })}`,
    ),
  conversation: (userId: string, id: number) => call<Conversation>(userId, `/conversations/${id}`),
  deleteConversation: (userId: string, id: number) =>
    call<void>(userId, `/conversations/${id}`, { method: "DELETE" }),
};
