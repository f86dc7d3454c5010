import "server-only";
import { betterAuth } from "better-auth";
import { jwt } from "better-auth/plugins";
import { type AuthDatabase, openDatabase } from "./database";
import { type AuthSettings, loadAuthSettings } from "./settings";

const MIN_PASSWORD_LENGTH = 8;

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
