import "server-only";
import { headers } from "next/headers";
import type { SessionUser } from "../types";
import { getAuth } from "./auth";

/** The signed-in user for this request, or null. */
export async function currentUser(): Promise<SessionUser | null> {
  // headers() first: it marks the page dynamic, so `next build` never builds auth to prerender it.
  const requestHeaders = await headers();
  const auth = await getAuth();
  const session = await auth.api.getSession({ headers: requestHeaders });
  if (!session) return null;
  const { id, name, email } = session.user;
  return { id, name, email };
}
