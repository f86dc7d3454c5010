import "server-only";
import { loadSqliteDriver } from "./database";
import { loadAuthSettings } from "./settings";

/**
 * Fails fast at server start on a missing or malformed setting, or a missing SQLite driver,
 * with one line naming it.
 */
export async function checkStartup(): Promise<void> {
  try {
    if (loadAuthSettings().database.kind === "sqlite") await loadSqliteDriver();
  } catch (error) {
    console.error(`todo-frontend: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
