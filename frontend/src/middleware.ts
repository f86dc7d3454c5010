import { type NextRequest, NextResponse } from "next/server";
import { securityHeaders } from "./lib/security-headers";

/** Security headers at request time: a fresh CSP nonce each request, and HSTS decided by the
 * deployed BETTER_AUTH_URL (next.config's headers() are fixed when the image is built). */
export function middleware(request: NextRequest): NextResponse {
  const nonce = btoa(crypto.randomUUID());
  const headers = securityHeaders({
    nonce,
    publicUrl: process.env.BETTER_AUTH_URL,
    development: process.env.NODE_ENV === "development",
  });
  // Next.js reads the nonce from the request's CSP and puts it on the scripts it renders.
  const forwarded = new Headers(request.headers);
  forwarded.set("Content-Security-Policy", headers["Content-Security-Policy"] ?? "");
  const response = NextResponse.next({ request: { headers: forwarded } });
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const config = {
  // Pages only: the API (better-auth, the proxy, the chat stream) answers JSON and events, and
  // static chunks are immutable files; next.config still sends nosniff and the others there.
  matcher: [
    {
      source: "/((?!api/|_next/static|_next/image|icon.svg).*)",
      missing: [{ type: "header", key: "next-router-prefetch" }],
    },
  ],
};
