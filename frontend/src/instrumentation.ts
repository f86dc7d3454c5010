/**
 * Fails fast at server start on a missing or malformed setting, or a missing SQLite driver,
 * with one line naming it.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { loadAuthSettings } = await import("./lib/server/settings");
  const { loadSqliteDriver } = await import("./lib/server/database");
  try {
    if (loadAuthSettings().database.kind === "sqlite") await loadSqliteDriver();
  } catch (error) {
    console.error(`todo-frontend: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
