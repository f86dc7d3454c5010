/** Fails fast at server start when a required setting is missing, with one line naming it. */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { loadAuthSettings } = await import("./lib/server/settings");
  try {
    loadAuthSettings();
  } catch (error) {
    console.error(`todo-frontend: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
