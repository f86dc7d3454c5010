import "server-only";
import { headers } from "next/headers";
import type { SessionUser } from "../types";
import { getAuth } from "./auth";

async function sessionUser(requestHeaders: Headers): Promise<SessionUser | null> {
  const auth = await getAuth();
  const session = await auth.api.getSession({ headers: requestHeaders });
  if (!session) return null;
  const { id, name, email } = session.user;
  return { id, name, email };
}

// headers() comes first and outside any try: it marks the page dynamic, so `next build` never
// builds auth to prerender it (and its bail-out signal must not be caught).

/** The signed-in user for this request, or null; throws when the session cannot be checked. */
export async function currentUser(): Promise<SessionUser | null> {
  return sessionUser(await headers());
}

/** For pages that work signed out (sign-in, sign-up): a failed check counts as signed out, so
 * the form still renders and its submit reports the outage. */
export async function userIfKnown(): Promise<SessionUser | null> {
  const requestHeaders = await headers();
  try {
    return await sessionUser(requestHeaders);
  } catch (error) {
    console.error(`session check failed: ${error instanceof Error ? error.message : error}`);
    return null;
  }
}
