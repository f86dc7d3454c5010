// Plain JavaScript, not next.config.ts: a TypeScript config drags the compiler into the
// standalone output just to read this file at start-up.

/** @type {import("next").NextConfig} */
const nextConfig = {
  output: "standalone",
  poweredByHeader: false,
  // Database drivers stay plain runtime requires: better-sqlite3 is optional (dev only) and
  // may be absent from the production image, so it must never be bundled.
  serverExternalPackages: ["better-sqlite3", "pg"],
  // No next/image here; leaving out the image optimiser keeps sharp's libvips out of the image.
  images: { unoptimized: true },
  // Nor is the TypeScript compiler needed to serve the built app.
  outputFileTracingExcludes: {
    "*": ["node_modules/sharp/**", "node_modules/@img/**", "node_modules/typescript/**"],
  },
  // Nothing here is meant to be framed or to leak its URLs to other sites.
  async headers() {
    const security = [
      { key: "X-Frame-Options", value: "DENY" },
      { key: "X-Content-Type-Options", value: "nosniff" },
      { key: "Referrer-Policy", value: "same-origin" },
    ];
    return [{ source: "/:path*", headers: security }];
  },
};

export default nextConfig;
