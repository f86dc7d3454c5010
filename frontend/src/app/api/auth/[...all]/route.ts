import { getAuth } from "@/lib/server/auth";
import { bodyTooLarge, maxBodyBytes, readBody } from "@/lib/server/body-limit";

export const dynamic = "force-dynamic";

async function handle(request: Request): Promise<Response> {
  const auth = await getAuth();
  if (request.method !== "POST") return auth.handler(request);
  // better-auth reads whatever body it is given: no more than the limit reaches it.
  const limit = maxBodyBytes();
  const body = await readBody(request, limit);
  if (body === null) return bodyTooLarge(limit);
  return auth.handler(new Request(request, { body }));
}

export { handle as GET, handle as POST };
