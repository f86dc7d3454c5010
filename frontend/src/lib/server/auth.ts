import "server-only";
import { betterAuth } from "better-auth";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { jwt } from "better-auth/plugins";
import { type AuthDatabase, openDatabase } from "./database";
import { type AuthSettings, loadAuthSettings } from "./settings";

const MIN_PASSWORD_LENGTH = 8;
// better-auth's default (3 per 10 s per client IP) trips over a test suite or a household behind
// one address; 20 a minute per IP still stops password guessing.
const CREDENTIAL_ATTEMPTS = { window: 60, max: 20 };

/** better-auth takes any string as a name, blank included: sign-up needs a real one. */
const requireName = createAuthMiddleware(async (ctx) => {
  if (ctx.path !== "/sign-up/email") return;
  const name = (ctx.body as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || !name.trim()) {
    throw new APIError("BAD_REQUEST", { code: "NAME_REQUIRED", message: "Enter your name" });
  }
});

function createAuth(settings: AuthSettings, database: AuthDatabase) {
  return betterAuth({
    appName: "Todo AI Chatbot",
    baseURL: settings.baseUrl,
    secret: settings.secret,
    trustedOrigins: settings.trustedOrigins,
    database,
    emailAndPassword: {
      enabled: true,
      autoSignIn: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
    },
    rateLimit: {
      customRules: {
        "/sign-in/email": CREDENTIAL_ATTEMPTS,
        "/sign-up/email": CREDENTIAL_ATTEMPTS,
      },
    },
    hooks: { before: requireName },
    // Issuer and audience default to baseURL; keys are EdDSA/Ed25519 in the `jwks` table.
    plugins: [jwt()],
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
