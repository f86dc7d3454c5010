import { SessionExpired, bearerToken, forgetToken } from "./token";
import type { ChatReply, Task, TaskSort, TaskStatus } from "./types";

/** A back-end call that failed, with a sentence fit for the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export { SessionExpired };

interface ValidationDetail {
  loc?: (string | number)[];
  msg?: string;
}

const UNAVAILABLE = "The service is unavailable. Try again in a moment.";

async function errorFrom(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { detail?: unknown };
  if (response.status === 422 && Array.isArray(body.detail)) {
    const details = body.detail as ValidationDetail[];
    const text = details.map((d) => `${String(d.loc?.at(-1) ?? "input")}: ${d.msg}`).join("; ");
    return new ApiError(`Please fix: ${text}`, 422);
  }
  if (response.status === 404) return new ApiError("That item no longer exists.", 404);
  if (response.status === 403) return new ApiError("You are not allowed to do that.", 403);
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

async function call<T>(userId: string, path: string, init: RequestInit = {}): Promise<T> {
  const url = `/api/${encodeURIComponent(userId)}${path}`;
  let response = await send(url, init);
  if (response.status === 401) {
    forgetToken(); // the token may have expired between the check and the call: retry once
    response = await send(url, init);
    if (response.status === 401) throw new SessionExpired();
  }
  if (!response.ok) throw await errorFrom(response);
  return (await response.json()) as T;
}

const json = (body: unknown) => JSON.stringify(body);

export const api = {
  listTasks: (userId: string, status: TaskStatus, sort: TaskSort) =>
    call<Task[]>(userId, `/tasks?${new URLSearchParams({ status, sort })}`),
  addTask: (userId: string, title: string, description: string) =>
    call<Task>(userId, "/tasks", { method: "POST", body: json({ title, description }) }),
  updateTask: (userId: string, id: number, title: string, description: string) =>
    call<Task>(userId, `/tasks/${id}`, { method: "PUT", body: json({ title, description }) }),
  toggleTask: (userId: string, id: number) =>
    call<Task>(userId, `/tasks/${id}/complete`, { method: "PATCH" }),
  deleteTask: (userId: string, id: number) =>
    call<Task>(userId, `/tasks/${id}`, { method: "DELETE" }),
  chat: (userId: string, message: string, conversationId: number | null) =>
    call<ChatReply>(userId, "/chat", {
      method: "POST",
      body: json({ message, conversation_id: conversationId }),
    }),
};
