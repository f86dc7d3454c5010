import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Todo AI Chatbot",
  description: "Your tasks, with an assistant that can manage them for you.",
};

// Rendered per request: the CSP nonce (src/middleware.ts) is new each time, and a page built
// ahead would carry scripts without it, which the browser would then refuse to run.
export const dynamic = "force-dynamic";

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
