import "server-only";
import { betterAuth } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { jwt } from "better-auth/plugins";
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../limits";
import { type AuthDatabase, openDatabase } from "./database";
import { ownLoopbackOrigin } from "./origins";
import { type AuthSettings, loadAuthSettings, TOKEN_AUDIENCE, TOKEN_ISSUER } from "./settings";

// better-auth's default (3 per 10 s per client IP) trips over a test suite or a household behind
// one address. Counted in the shared database, one bucket holds for every replica (where each
// replica used to count its own): 60 a minute per IP, one a second, still stops password
// guessing, and the e2e suite's accounts from one address (each a sign-up, then a sign-in) fit.
const CREDENTIAL_ATTEMPTS = { window: 60, max: 60 };

// The counts live in the shared database (the `rateLimit` table, Alembic's 0004), so the limit
// holds across front-end replicas instead of per process (better-auth's memory default).
const SHARED_RATE_LIMITS = { storage: "database" } as const;

/** Who the client is and whether its cookies need TLS, as seen behind the ingress. */
function behindTheIngress(settings: AuthSettings) {
  return {
    // The ingress controller sets X-Forwarded-For to the client's address (one value; better-auth
    // skips a list it cannot trust); without it every request would share one bucket.
    ipAddress: { ipAddressHeaders: ["x-forwarded-for"] },
    // Said outright rather than left to better-auth's guess from NODE_ENV and the URL.
    useSecureCookies: settings.baseUrl.startsWith("https://"),
  };
}

/** better-auth takes any string as a name, blank or 100,000 characters long (it goes into
 * every token, which the back end would then refuse): a name must be real and fit. */
const checkProfile = createAuthMiddleware(async (ctx) => {
  const body = ctx.body as { name?: unknown; email?: unknown } | undefined;
  if (ctx.path === "/sign-up/email") {
    if (typeof body?.name !== "string" || !body.name.trim()) {
      throw new APIError("BAD_REQUEST", { code: "NAME_REQUIRED", message: "Enter your name" });
    }
    if (typeof body.email === "string" && body.email.length > EMAIL_MAX_LENGTH) {
      throw new APIError("BAD_REQUEST", {
        code: "EMAIL_TOO_LONG",
        message: `An email address has at most ${EMAIL_MAX_LENGTH} characters`,
      });
    }
  }
  if (ctx.path !== "/sign-up/email" && ctx.path !== "/update-user") return;
  if (typeof body?.name === "string" && body.name.length > NAME_MAX_LENGTH) {
    throw new APIError("BAD_REQUEST", {
      code: "NAME_TOO_LONG",
      message: `Your name can have at most ${NAME_MAX_LENGTH} characters`,
    });
  }
});

function createAuth(settings: AuthSettings, database: AuthDatabase) {
  return betterAuth({
    appName: "Todo AI Chatbot",
    baseURL: settings.baseUrl,
    secret: settings.secret,
    trustedOrigins: (request) => [...settings.trustedOrigins, ...ownLoopbackOrigin(request)],
    database,
    emailAndPassword: {
      enabled: true,
      // Off so that better-auth answers a sign-up for a taken email exactly as for a new one
      // (200, no token, a user-shaped body) and creates nothing: the answer no longer tells who
      // has an account. The form signs in next, as a person who just signed up would.
      autoSignIn: false,
      minPasswordLength: PASSWORD_MIN_LENGTH,
    },
    rateLimit: {
      customRules: {
        "/sign-in/email": CREDENTIAL_ATTEMPTS,
        "/sign-up/email": CREDENTIAL_ATTEMPTS,
      },
      ...SHARED_RATE_LIMITS,
    },
    advanced: behindTheIngress(settings),
    hooks: { before: checkProfile },
    // Keys are EdDSA/Ed25519 in the `jwks` table. A token carries only what the back end reads:
    // `sub` (the user id, better-auth's default subject) and `sid`, the session it checks on
    // every request, so a signed-out session's tokens stop working at once. The default payload
    // (the whole user: name, email) would go to every request for nothing.
    plugins: [
      jwt({
        jwt: {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          definePayload: ({ session }) => ({ sid: session.id }),
        },
      }),
    ],
    telemetry: { enabled: false },
  });
}

export type Auth = ReturnType<typeof createAuth>;

let pending: Promise<Auth> | undefined;

/** The better-auth instance, built on first request so `next build` needs no settings. */
export function getAuth(): Promise<Auth> {
  pending ??= (async () => {
    const settings = loadAuthSettings();
    return createAuth(settings, await openDatabase(settings.database));
  })().catch((error: unknown) => {
    pending = undefined; // let a later request retry once the cause is fixed
    throw error;
  });
  return pending;
}
