import "server-only";
import { Pool } from "pg";
import type BetterSqlite3 from "better-sqlite3";

/** A connection better-auth's Kysely adapter recognises by its shape. */
export type AuthDatabase = Pool | BetterSqlite3.Database;

const SQLITE_PREFIX = "sqlite://";

function isPostgres(scheme: string): boolean {
  // The Python side may name its driver (postgresql+psycopg); node-postgres does not care.
  return /^postgres(ql)?(\+\w+)?$/.test(scheme);
}

function sqlitePath(databaseUrl: string): string {
  const path = databaseUrl.slice(SQLITE_PREFIX.length);
  if (!path.startsWith("/")) {
    throw new Error("Malformed setting DATABASE_URL: use sqlite:////absolute/path.db");
  }
  return path;
}

async function openSqlite(path: string): Promise<BetterSqlite3.Database> {
  // Loaded lazily: better-sqlite3 is an optional, dev-only dependency the image may omit.
  const { default: Database } = await import("better-sqlite3").catch(() => {
    throw new Error("DATABASE_URL is sqlite but the optional package better-sqlite3 is missing");
  });
  const db = new Database(path, { fileMustExist: true });
  // The back end writes the same file: WAL lets readers and one writer share it.
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

/** Opens the shared database named by DATABASE_URL (the schema is Alembic's, never ours). */
export async function openDatabase(databaseUrl: string): Promise<AuthDatabase> {
  const scheme = databaseUrl.split(":", 1)[0] ?? "";
  if (isPostgres(scheme)) {
    return new Pool({ connectionString: databaseUrl.replace(/^[^:]+/, "postgresql") });
  }
  if (databaseUrl.startsWith(SQLITE_PREFIX)) return openSqlite(sqlitePath(databaseUrl));
  throw new Error("Malformed setting DATABASE_URL: expected postgresql://... or sqlite:////path");
}
