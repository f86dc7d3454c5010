/** Response headers every page gets, as one pure function of the request's nonce and the app's
 * public URL (so they can be checked without a server). */

export interface SecurityHeaderInput {
  /** Fresh per request: Next.js puts it on its own inline scripts (read from the CSP). */
  nonce: string;
  /** BETTER_AUTH_URL: HSTS only when people reach the app over https. */
  publicUrl: string | undefined;
  /** `next dev` evaluates its hot-reload code with eval(); a build never does. */
  development: boolean;
}

export function contentSecurityPolicy({ nonce, development }: SecurityHeaderInput): string {
  // 'strict-dynamic': scripts the nonced ones load (Next's chunks) run; nothing else does.
  const scripts = [`'self'`, `'nonce-${nonce}'`, `'strict-dynamic'`];
  if (development) scripts.push(`'unsafe-eval'`);
  return [
    `default-src 'self'`,
    `script-src ${scripts.join(" ")}`,
    // React sets style attributes; styles cannot run code, so inline ones are allowed.
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data:`,
    `font-src 'self'`,
    // The chat streams from /api on this origin; nothing else is fetched.
    `connect-src 'self'`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
  ].join("; ");
}

export function isHttps(publicUrl: string | undefined): boolean {
  return (publicUrl ?? "").trim().toLowerCase().startsWith("https://");
}

export function securityHeaders(input: SecurityHeaderInput): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Security-Policy": contentSecurityPolicy(input),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
  };
  // Over plain http a browser ignores HSTS, and sending it from a dev URL would pin a host.
  if (isHttps(input.publicUrl)) {
    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains";
  }
  return headers;
}
