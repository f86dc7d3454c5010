"use client";

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { api } from "@/lib/api";
import type { ToolCall } from "@/lib/types";
import { useErrorMessage } from "@/lib/use-error-message";
import { ToolCalls } from "./ToolCalls";

interface Entry {
  id: number;
  role: "user" | "assistant";
  text: string;
  toolCalls: ToolCall[];
}

const SUGGESTIONS = ["Add buy milk", "Show my pending tasks", "What's on my list?"];
const MESSAGE_MAX = 2000;

export function ChatPanel({ userId, onTurn }: { userId: string; onTurn: () => void }) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [draft, setDraft] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const describe = useErrorMessage();
  const log = useRef<HTMLOListElement>(null);
  const nextId = useRef(0);

  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [entries, busy]);

  function append(role: Entry["role"], text: string, toolCalls: ToolCall[] = []): number {
    const entry = { id: nextId.current++, role, text, toolCalls };
    setEntries((current) => [...current, entry]);
    return entry.id;
  }

  async function send(message: string) {
    setBusy(true);
    setError(null);
    const sent = append("user", message);
    setDraft("");
    try {
      const reply = await api.chat(userId, message, conversationId);
      setConversationId(reply.conversation_id);
      append("assistant", reply.response, reply.tool_calls);
      onTurn();
    } catch (failure) {
      setError(describe(failure));
      // Not delivered: the message goes back to the input so it can be sent again.
      setEntries((current) => current.filter((entry) => entry.id !== sent));
      setDraft(message);
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const message = draft.trim();
    if (message && !busy) void send(message);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter starts a new line, as in most chat apps.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      event.currentTarget.form?.requestSubmit();
    }
  }

  function startOver() {
    setEntries([]);
    setConversationId(null);
    setError(null);
  }

  return (
    <section className="card chat" aria-labelledby="chat-heading">
      <div className="chat-header">
        <h2 id="chat-heading">Assistant</h2>
        <button
          type="button"
          onClick={startOver}
          disabled={busy || entries.length === 0}
          data-testid="chat-new"
        >
          New conversation
        </button>
      </div>
      <ol
        ref={log}
        className="chat-log"
        role="log"
        aria-label="Conversation"
        aria-live="polite"
        data-testid="chat-log"
      >
        {entries.length === 0 && (
          <li className="chat-empty">
            Ask me to add, list, complete, rename or delete tasks. Try:
            <span className="suggestions">
              {SUGGESTIONS.map((text) => (
                <button key={text} type="button" className="chip" onClick={() => setDraft(text)}>
                  {text}
                </button>
              ))}
            </span>
          </li>
        )}
        {entries.map((entry) => (
          <li
            key={entry.id}
            className={`message ${entry.role}`}
            data-testid="chat-message"
            data-role={entry.role}
          >
            <span className="visually-hidden">{entry.role === "user" ? "You:" : "Assistant:"}</span>
            <p className="message-text">{entry.text}</p>
            {entry.toolCalls.length > 0 && <ToolCalls calls={entry.toolCalls} />}
          </li>
        ))}
        {busy && (
          <li className="message assistant pending" data-testid="chat-pending">
            Thinking…
          </li>
        )}
      </ol>
      {error && (
        <p role="alert" className="error" data-testid="chat-error">
          {error}
        </p>
      )}
      <form className="chat-form" onSubmit={onSubmit}>
        <label className="field">
          <span>Message</span>
          <textarea
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onKeyDown}
            rows={2}
            maxLength={MESSAGE_MAX}
            placeholder="e.g. add buy milk"
            aria-describedby="chat-hint"
            data-testid="chat-input"
          />
        </label>
        <p id="chat-hint" className="hint">
          Enter sends; Shift+Enter adds a line.
        </p>
        <button
          type="submit"
          className="primary"
          disabled={busy || !draft.trim()}
          data-testid="chat-send"
        >
          {busy ? "Sending…" : "Send"}
        </button>
      </form>
    </section>
  );
}
