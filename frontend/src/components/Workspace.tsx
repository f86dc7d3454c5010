"use client";

import { useCallback, useState } from "react";
import type { SessionUser } from "@/lib/types";
import { ChatPanel } from "./ChatPanel";
import { SignOutButton } from "./SignOutButton";
import { TaskPanel } from "./TaskPanel";

/** The signed-in page: tasks beside the assistant, which can change them. */
export function Workspace({ user }: { user: SessionUser }) {
  // Bumped after every chat turn so the task list shows what the assistant changed.
  const [revision, setRevision] = useState(0);
  const onChatTurn = useCallback(() => setRevision((value) => value + 1), []);

  return (
    <>
      <header className="topbar">
        <span className="brand">Todo AI Chatbot</span>
        <span className="account">
          <span className="user-email" data-testid="user-email">
            {user.email}
          </span>
          <SignOutButton />
        </span>
      </header>
      <main className="workspace">
        <TaskPanel userId={user.id} revision={revision} />
        <ChatPanel userId={user.id} onTurn={onChatTurn} />
      </main>
    </>
  );
}
