"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { authClient } from "@/lib/auth-client";
import { forgetToken } from "@/lib/token";

export function SignOutButton() {
  const router = useRouter();
  const [busy, setBusy] = useState(false);

  async function signOut() {
    setBusy(true);
    await authClient.signOut().catch(() => undefined); // the page below re-checks the session
    forgetToken();
    // What this tab had open belongs to this sign-in: the next one opens the latest conversation.
    sessionStorage.clear();
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <button type="button" onClick={signOut} disabled={busy} data-testid="sign-out">
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}
