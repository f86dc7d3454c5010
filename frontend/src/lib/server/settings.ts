import "server-only";

/** better-auth settings, read from the environment at request time (never at build time). */
export interface AuthSettings {
  databaseUrl: string;
  secret: string;
  baseUrl: string;
  trustedOrigins: string[];
}

const MIN_SECRET_LENGTH = 32;
const DEFAULT_BACKEND_URL = "http://127.0.0.1:8000";

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`Missing required setting ${name}`);
  return value;
}

function url(name: string, value: string): string {
  try {
    return new URL(value).toString().replace(/\/$/, "");
  } catch {
    throw new Error(`Malformed setting ${name}: ${JSON.stringify(value)} is not a URL`);
  }
}

function origins(value: string | undefined): string[] {
  const items = (value ?? "").split(",").map((item) => item.trim());
  return items.filter(Boolean).map((item) => new URL(url("TRUSTED_ORIGINS", item)).origin);
}

/** Validates every auth setting; throws one error naming the first bad one. */
export function loadAuthSettings(): AuthSettings {
  const secret = required("BETTER_AUTH_SECRET");
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `Malformed setting BETTER_AUTH_SECRET: needs at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  return {
    databaseUrl: required("DATABASE_URL"),
    secret,
    baseUrl: url("BETTER_AUTH_URL", required("BETTER_AUTH_URL")),
    trustedOrigins: origins(process.env.TRUSTED_ORIGINS),
  };
}

/** Where the dev proxy sends `/api/{userId}/...` when no ingress routes it. */
export function backendUrl(): string {
  return url("BACKEND_URL", process.env.BACKEND_URL?.trim() || DEFAULT_BACKEND_URL);
}
