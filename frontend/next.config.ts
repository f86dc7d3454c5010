import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  output: "standalone",
  poweredByHeader: false,
  // Database drivers stay plain runtime requires: better-sqlite3 is optional (dev only) and
  // may be absent from the production image, so it must never be bundled.
  serverExternalPackages: ["better-sqlite3", "pg"],
};

export default nextConfig;
