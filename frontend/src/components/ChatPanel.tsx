"use client";

import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from "react";
import { type Entry, useChat } from "@/lib/use-chat";
import { ConversationList } from "./ConversationList";
import { ToolCalls } from "./ToolCalls";

// Each one is understood by the offline assistant too, so a click always does something.
const SUGGESTIONS = ["Add buy milk", "What's pending?", "What did I finish?"];
const MESSAGE_MAX = 2000;

function Message({ entry, pending = false }: { entry: Entry; pending?: boolean }) {
  return (
    <li
      className={`message ${entry.role}${pending ? " pending" : ""}`}
      data-testid={pending ? "chat-pending" : "chat-message"}
      data-role={entry.role}
    >
      <span className="visually-hidden">{entry.role === "user" ? "You:" : "Assistant:"}</span>
      <p className="message-text">{entry.text || (pending ? "Thinking…" : "")}</p>
      {entry.toolCalls.length > 0 && <ToolCalls calls={entry.toolCalls} />}
    </li>
  );
}

/** Says what kind of assistant answers: without an API key it is a command interpreter. */
function ModeNote() {
  return (
    <p className="mode-note" id="chat-mode" data-testid="assistant-mode">
      <strong>Command mode:</strong> no AI model is connected, so I follow short commands like “add
      call mom”, “what’s pending?” or “delete call mom”.
    </p>
  );
}

export function ChatPanel({ userId, onTurn }: { userId: string; onTurn: () => void }) {
  const chat = useChat(userId, onTurn);
  const [draft, setDraft] = useState("");
  const [listOpen, setListOpen] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [chat.entries, chat.reply]);

  async function send(message: string) {
    setDraft("");
    // Not delivered and not stored: the message goes back to the input so it can be sent again.
    if (!(await chat.send(message))) setDraft((current) => current || message);
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    // The submitted field, not state: text typed before hydration is in the DOM only.
    const message = String(new FormData(event.currentTarget).get("message") ?? "").trim();
    if (message && !chat.busy) void send(message);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends, Shift+Enter starts a new line, as in most chat apps.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      event.currentTarget.form?.requestSubmit();
    }
  }

  function startNew() {
    chat.startNew();
    setListOpen(false);
    input.current?.focus();
  }

  async function open(id: number) {
    if (await chat.open(id)) {
      setListOpen(false);
      input.current?.focus();
    }
  }

  const empty = chat.entries.length === 0 && !chat.reply;
  return (
    <section id="chat" className="card chat" aria-labelledby="chat-heading">
      <div className="chat-header">
        <h2 id="chat-heading">Assistant</h2>
        <div className="chat-actions">
          <button
            type="button"
            aria-expanded={listOpen}
            onClick={() => setListOpen((value) => !value)}
            disabled={chat.conversations === null}
            data-testid="chat-history"
          >
            Conversations
          </button>
          <button
            type="button"
            onClick={startNew}
            disabled={chat.busy || (chat.openId === null && chat.entries.length === 0)}
            data-testid="chat-new"
          >
            New conversation
          </button>
        </div>
      </div>
      {chat.mode === "offline" && <ModeNote />}
      {listOpen && chat.conversations && (
        <ConversationList
          conversations={chat.conversations}
          openId={chat.openId}
          hasOlder={chat.nextBefore !== null}
          onOpen={(id) => void open(id)}
          onDelete={chat.remove}
          onOlder={() => void chat.loadOlder()}
        />
      )}
      <div
        ref={log}
        className="chat-log"
        role="log"
        aria-label="Conversation"
        aria-busy={chat.loading || chat.busy}
        data-testid="chat-log"
        data-conversation-id={chat.openId ?? ""}
      >
        {chat.loading && <p className="chat-empty">Loading your conversation…</p>}
        {!chat.loading && empty && (
          <div className="chat-empty">
            <p>Ask me to add, list, complete, rename or delete tasks. Try:</p>
            <div className="suggestions">
              {SUGGESTIONS.map((text) => (
                <button
                  key={text}
                  type="button"
                  className="chip"
                  onClick={() => void send(text)}
                  disabled={chat.busy}
                  data-testid="chat-suggestion"
                >
                  {text}
                </button>
              ))}
            </div>
          </div>
        )}
        <ol className="messages">
          {chat.entries.map((entry) => (
            <Message key={entry.key} entry={entry} />
          ))}
          {chat.reply && <Message entry={chat.reply} pending />}
        </ol>
      </div>
      {chat.error && (
        <div role="alert" className="error banner" data-testid="chat-error">
          <span>{chat.error.message}</span>
          {chat.error.retryable && !chat.loading && chat.conversations === null && (
            <button type="button" onClick={() => void chat.load()}>
              Retry
            </button>
          )}
        </div>
      )}
      <form className="chat-form" onSubmit={onSubmit}>
        <label className="field">
          <span>Message</span>
          <textarea
            id="chat-input"
            name="message"
            ref={input}
            value={draft}
            onChange={(event) => {
              setDraft(event.target.value);
              // A failed load keeps its Retry; a failed turn's note goes once the user types.
              if (chat.error && chat.conversations !== null) chat.clearError();
            }}
            onKeyDown={onKeyDown}
            rows={2}
            maxLength={MESSAGE_MAX}
            placeholder="e.g. add buy milk"
            aria-describedby={chat.mode === "offline" ? "chat-hint chat-mode" : "chat-hint"}
            data-testid="chat-input"
          />
        </label>
        <p id="chat-hint" className="hint">
          Enter sends; Shift+Enter adds a line.
        </p>
        <button
          type="submit"
          className="primary"
          disabled={chat.busy || !draft.trim()}
          data-testid="chat-send"
        >
          {chat.busy ? "Sending…" : "Send"}
        </button>
      </form>
    </section>
  );
}
