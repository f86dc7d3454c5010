import "server-only";
import { bodyTooLarge, maxBodyBytes, readBody } from "./body-limit";
import { backendUrl } from "./settings";

// Headers the back end needs; hop-by-hop and cookie headers never cross the proxy.
const FORWARDED_REQUEST_HEADERS = ["authorization", "content-type", "accept", "x-request-id"];
const FORWARDED_RESPONSE_HEADERS = [
  "content-type",
  "cache-control",
  "www-authenticate",
  "x-request-id",
  "x-accel-buffering",
];
// The back end's route groups under /api/{userId}/ (backend/tests/test_proxy_routes.py compares
// them with its app): anything else is answered here, never forwarded.
export const BACKEND_ROUTES = ["assistant", "chat", "conversations", "tasks"];
// A chat turn may wait on a language model; anything slower is treated as the back end down.
const TIMEOUT_MS = 120_000;

function pick(source: Headers, names: string[]): Headers {
  const picked = new Headers();
  for (const name of names) {
    const value = source.get(name);
    if (value !== null) picked.set(name, value);
  }
  return picked;
}

function unavailable(reason: string): Response {
  console.error(`backend proxy: ${reason}`);
  return Response.json({ detail: "The service is unavailable" }, { status: 502 });
}

/** Forwards one `/api/{userId}/...` request to BACKEND_URL and relays the answer. */
export async function proxyToBackend(request: Request, segments: string[]): Promise<Response> {
  // A decoded "." or ".." would climb out of /api/{userId}/ once the URL is normalised.
  const known = segments.length > 1 && BACKEND_ROUTES.includes(segments[1] ?? "");
  if (!known || segments.some((segment) => segment === "." || segment === "..")) {
    return Response.json({ detail: "Not Found" }, { status: 404 });
  }
  const incoming = new URL(request.url);
  const path = segments.map(encodeURIComponent).join("/");
  const target = `${backendUrl()}/api/${path}${incoming.search}`;
  const hasBody = !["GET", "HEAD"].includes(request.method);
  const limit = maxBodyBytes();
  const body = hasBody ? await readBody(request, limit) : undefined;
  if (body === null) return bodyTooLarge(limit);
  let response: Response;
  try {
    response = await fetch(target, {
      method: request.method,
      headers: pick(request.headers, FORWARDED_REQUEST_HEADERS),
      body,
      redirect: "manual",
      cache: "no-store",
      // A reader who goes away stops the back end's work too.
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
  } catch (error) {
    return unavailable(error instanceof Error ? error.message : String(error));
  }
  // A Response with a null-body status must be built without a body.
  const relayed = [204, 304].includes(response.status) ? null : response.body;
  const headers = pick(response.headers, FORWARDED_RESPONSE_HEADERS);
  if (headers.get("content-type")?.startsWith("text/event-stream")) {
    // Each event goes out as it comes: `no-transform` keeps Next's gzip from holding them back,
    // X-Accel-Buffering keeps an nginx in front from buffering them.
    headers.set("cache-control", "no-cache, no-transform");
    headers.set("x-accel-buffering", "no");
  }
  return new Response(relayed, { status: response.status, headers });
}
