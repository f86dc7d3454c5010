export async function register(): Promise<void> {
  // Written as Next.js documents it: NEXT_RUNTIME is replaced at compile time, so the edge
  // bundle drops this import and never sees the Node-only database drivers.
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { checkStartup } = await import("./lib/server/startup");
    await checkStartup();
  }
}
