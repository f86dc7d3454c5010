import "server-only";

/** Where the shared database lives: node-postgres takes the URL, better-sqlite3 a file path. */
export type DatabaseTarget =
  { kind: "postgres"; connectionString: string } | { kind: "sqlite"; path: string };

/** better-auth settings, read from the environment at request time (never at build time). */
export interface AuthSettings {
  database: DatabaseTarget;
  secret: string;
  baseUrl: string;
  trustedOrigins: string[];
}

/** The tokens' `iss` and `aud`, which the back end checks (backend/todo_backend/config.py holds
 * the same pair, docs/contract.md names them). Fixed names, never the public URL: a rollout that
 * moves the host must not make old and new pods refuse each other's tokens. */
export const TOKEN_ISSUER = "todo-frontend";
export const TOKEN_AUDIENCE = "todo-backend";

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

/** Accepts the contract's forms: postgresql://... (a +driver suffix is the Python side's) and
 * sqlite:////absolute/path.db. */
export function parseDatabaseUrl(value: string): DatabaseTarget {
  const scheme = value.split(":", 1)[0] ?? "";
  if (/^postgres(ql)?(\+\w+)?$/.test(scheme)) {
    return { kind: "postgres", connectionString: value.replace(/^[^:]+/, "postgresql") };
  }
  const path = value.startsWith("sqlite://") ? value.slice("sqlite://".length) : "";
  if (path.startsWith("/")) return { kind: "sqlite", path };
  throw new Error(
    "Malformed setting DATABASE_URL: expected postgresql://user:pass@host/db or sqlite:////abs/path.db",
  );
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
    database: parseDatabaseUrl(required("DATABASE_URL")),
    secret,
    baseUrl: url("BETTER_AUTH_URL", required("BETTER_AUTH_URL")),
    trustedOrigins: origins(process.env.TRUSTED_ORIGINS),
  };
}

/** Where the dev proxy sends `/api/{userId}/...` when no ingress routes it. */
export function backendUrl(): string {
  return url("BACKEND_URL", process.env.BACKEND_URL?.trim() || DEFAULT_BACKEND_URL);
}
