"use client";

import { useCallback, useState } from "react";
import type { SessionUser } from "@/lib/types";
import { ChatPanel } from "./ChatPanel";
import { SignOutButton } from "./SignOutButton";
import { TaskPanel } from "./TaskPanel";

type View = "tasks" | "chat";
const VIEWS: { id: View; label: string }[] = [
  { id: "tasks", label: "Tasks" },
  { id: "chat", label: "Assistant" },
];

/** On a phone one panel at a time, chosen by tabs under the header (hidden on wide screens,
 * where both panels sit side by side). */
function ViewTabs({ view, onView }: { view: View; onView: (view: View) => void }) {
  return (
    <div className="view-tabs" role="tablist" aria-label="Show">
      {VIEWS.map(({ id, label }) => (
        <button
          key={id}
          type="button"
          role="tab"
          aria-selected={view === id}
          aria-controls={id}
          onClick={() => onView(id)}
          data-testid={`tab-${id}`}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

/** The signed-in page: tasks beside the assistant, which can change them. */
export function Workspace({ user }: { user: SessionUser }) {
  // Bumped after every chat turn so the task list shows what the assistant changed.
  const [revision, setRevision] = useState(0);
  const onChatTurn = useCallback(() => setRevision((value) => value + 1), []);
  const [view, setView] = useState<View>("tasks");

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
      <ViewTabs view={view} onView={setView} />
      <main className="workspace" data-view={view}>
        <TaskPanel userId={user.id} revision={revision} />
        <ChatPanel userId={user.id} onTurn={onChatTurn} />
      </main>
    </>
  );
}
