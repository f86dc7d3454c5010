/** The better-auth JWT for back-end calls, fetched from `/api/auth/token` and reused until near expiry. */

// Refetch this long before `exp` so a token never expires in flight.
const EXPIRY_MARGIN_MS = 60_000;

export class SessionExpired extends Error {
  constructor() {
    super("Your session has ended. Sign in again.");
  }
}

let cached: { token: string; expiresAt: number } | undefined;

function expiryOf(token: string): number {
  const payload = token.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  const exp = (JSON.parse(json) as { exp?: number }).exp;
  return typeof exp === "number" ? exp * 1000 : 0;
}

async function fetchToken(): Promise<string> {
  const response = await fetch("/api/auth/token", {
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) throw new SessionExpired();
  if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  cached = { token, expiresAt: expiryOf(token) };
  return token;
}

export async function bearerToken(): Promise<string> {
  if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return cached.token;
  return fetchToken();
}

/** Drops the cached token, e.g. after the back end refused it. */
export function forgetToken(): void {
  cached = undefined;
}
