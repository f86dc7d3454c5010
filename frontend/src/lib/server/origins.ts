const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The request's own origin when it came to a loopback address: `invoke port-forward`
 * (http://127.0.0.1:3000) reaches this server directly, and its page may sign in although the
 * cluster trusts no localhost origin. Safe: a browser sends Host 127.0.0.1 only for a page
 * served from 127.0.0.1, so another site can never pass this check with someone's cookies. */
export function ownLoopbackOrigin(request: Request | undefined): string[] {
  const host = request?.headers.get("host") ?? "";
  const hostname = host.replace(/:\d+$/, "").toLowerCase();
  return LOOPBACK_HOSTS.has(hostname) ? [`http://${host.toLowerCase()}`] : [];
}
