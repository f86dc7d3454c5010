import { proxyToBackend } from "@/lib/server/backend-proxy";

export const dynamic = "force-dynamic";

interface Context {
  params: Promise<{ userId: string; path: string[] }>;
}

/** Dev only: without an ingress, `/api/{userId}/tasks...` and `/chat` reach the back end here. */
async function handle(request: Request, context: Context): Promise<Response> {
  const { userId, path } = await context.params;
  return proxyToBackend(request, [userId, ...path]);
}

export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE };
