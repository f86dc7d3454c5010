"use client";

import { useRef } from "react";
import type { ConversationSummary } from "@/lib/types";

interface Props {
  conversations: ConversationSummary[];
  openId: number | null;
  hasOlder: boolean;
  onOpen: (id: number) => void;
  onDelete: (id: number) => Promise<boolean>;
  onOlder: () => void;
}

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** The user's conversations, newest first: open one, delete one, page to older ones. */
export function ConversationList({
  conversations,
  openId,
  hasOlder,
  onOpen,
  onDelete,
  onOlder,
}: Props) {
  const list = useRef<HTMLUListElement>(null);

  async function remove(index: number) {
    const conversation = conversations[index];
    if (!conversation || !(await onDelete(conversation.id))) return;
    // Keyboard users stay in the list: on the next conversation, else the previous one.
    requestAnimationFrame(() => {
      const buttons = list.current?.querySelectorAll<HTMLButtonElement>(".conversation-open");
      const target = buttons?.[Math.min(index, buttons.length - 1)];
      if (target) target.focus();
      else document.getElementById("chat-input")?.focus();
    });
  }

  return (
    <nav className="conversations" aria-label="Conversations" data-testid="conversation-list">
      {conversations.length === 0 ? (
        <p className="muted">No conversations yet: your first message starts one.</p>
      ) : (
        <ul ref={list}>
          {conversations.map((conversation, index) => (
            <li
              key={conversation.id}
              data-testid="conversation"
              data-conversation-id={conversation.id}
              data-open={conversation.id === openId}
            >
              <button
                type="button"
                className="conversation-open"
                aria-current={conversation.id === openId ? "true" : undefined}
                onClick={() => onOpen(conversation.id)}
                data-testid="conversation-open"
              >
                <span className="conversation-title">{conversation.title || "Untitled"}</span>
                <span className="conversation-date">
                  {when.format(new Date(conversation.updated_at))}
                </span>
              </button>
              <button
                type="button"
                className="danger"
                aria-label={`Delete conversation ${conversation.title}`}
                onClick={() => void remove(index)}
                data-testid="conversation-delete"
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {hasOlder && (
        <button type="button" onClick={onOlder} data-testid="conversation-older">
          Show older conversations
        </button>
      )}
    </nav>
  );
}
