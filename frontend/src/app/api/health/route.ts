export const dynamic = "force-dynamic";

/** Liveness and readiness: the process serves requests; deliberately no database I/O. */
export function GET(): Response {
  return Response.json({ status: "ok" });
}
