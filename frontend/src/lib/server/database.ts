import "server-only";
import { Pool } from "pg";
import type BetterSqlite3 from "better-sqlite3";
import type { DatabaseTarget } from "./settings";

/** A connection better-auth's Kysely adapter recognises by its shape. */
export type AuthDatabase = Pool | BetterSqlite3.Database;

/** Loaded lazily: better-sqlite3 is an optional, dev-only dependency the image may omit. */
export async function loadSqliteDriver(): Promise<typeof BetterSqlite3> {
  const loaded = await import("better-sqlite3").catch(() => {
    throw new Error("DATABASE_URL is sqlite but the optional package better-sqlite3 is missing");
  });
  return loaded.default;
}

async function openSqlite(path: string): Promise<BetterSqlite3.Database> {
  const Database = await loadSqliteDriver();
  const db = new Database(path, { fileMustExist: true });
  // The back end writes the same file: WAL lets readers and one writer share it.
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

function openPostgres(connectionString: string): Pool {
  const pool = new Pool({ connectionString });
  // An idle connection dropped by a database restart must not crash the server; the pool
  // replaces it on the next query.
  pool.on("error", (error) => console.error(`database: idle connection lost: ${error.message}`));
  return pool;
}

/** Opens the shared database (the schema is Alembic's, never ours). */
export async function openDatabase(target: DatabaseTarget): Promise<AuthDatabase> {
  if (target.kind === "postgres") return openPostgres(target.connectionString);
  return openSqlite(target.path);
}
