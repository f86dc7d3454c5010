import "server-only";

// The chart's limits.bodyBytes reaches every layer as MAX_BODY_BYTES (ingress, here, the back end).
const DEFAULT_MAX_BODY_BYTES = 65536;

/** The largest request body this server reads, in bytes. */
export function maxBodyBytes(): number {
  const raw = process.env.MAX_BODY_BYTES?.trim();
  if (!raw) return DEFAULT_MAX_BODY_BYTES;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`Malformed setting MAX_BODY_BYTES: ${JSON.stringify(raw)} is not a byte count`);
  }
  return value;
}

/** The 413 every layer answers, in the back end's JSON shape. */
export function bodyTooLarge(limit: number): Response {
  return Response.json(
    { detail: `The request body is larger than ${limit} bytes` },
    { status: 413 },
  );
}

/** The request's body, read no further than `limit` bytes; null when it is larger. */
export async function readBody(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(request.headers.get("content-length"));
  if (declared > limit) return null;
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
