"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api } from "./api";
import type {
  AssistantMode,
  ChatEvent,
  ConversationSummary,
  StoredMessage,
  ToolCall,
} from "./types";
import { useErrorMessage } from "./use-error-message";

export interface Entry {
  key: string;
  role: "user" | "assistant";
  text: string;
  toolCalls: ToolCall[];
}

export interface ChatError {
  message: string;
  retryable: boolean;
}

const KEPT =
  "The reply did not arrive in full. The conversation shows what was saved, including any change made.";

// The open conversation survives a reload of this tab; a new tab or sign-in opens the latest.
const openKey = (userId: string) => `todo.chat.open.${userId}`;

function remembered(userId: string): number | null {
  const value = Number(sessionStorage.getItem(openKey(userId)));
  return Number.isInteger(value) && value > 0 ? value : null;
}

function remember(userId: string, id: number | null) {
  if (id === null) sessionStorage.removeItem(openKey(userId));
  else sessionStorage.setItem(openKey(userId), String(id));
}

const fromStored = (message: StoredMessage): Entry => ({
  key: `m${message.id}`,
  role: message.role,
  text: message.content,
  toolCalls: message.tool_calls ?? [],
});

/** Folds one streamed event into the reply being written. */
function withEvent(reply: Entry, event: ChatEvent): Entry {
  if (event.type === "delta") return { ...reply, text: reply.text + event.text };
  if (event.type === "tool_call") {
    const { name, arguments: args, result } = event;
    return { ...reply, toolCalls: [...reply.toolCalls, { name, arguments: args, result }] };
  }
  return { ...reply, text: event.response, toolCalls: event.tool_calls };
}

/** The assistant's state: its mode, the user's conversations, the open one and a turn in flight. */
export function useChat(userId: string, onTurn: () => void) {
  const describe = useErrorMessage();
  const [mode, setMode] = useState<AssistantMode | null>(null);
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [openId, setOpenId] = useState<number | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [reply, setReply] = useState<Entry | null>(null);
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ChatError | null>(null);
  const localKey = useRef(0);

  const fail = useCallback(
    (failure: unknown) =>
      setError({
        message: describe(failure),
        retryable: !(failure instanceof ApiError) || failure.retryable,
      }),
    [describe],
  );

  const refreshList = useCallback(async () => {
    const page = await api.listConversations(userId);
    setConversations(page.items);
    setNextBefore(page.next_before);
    return page.items;
  }, [userId]);

  const show = useCallback(
    async (id: number) => {
      const conversation = await api.conversation(userId, id);
      setEntries(conversation.messages.map(fromStored));
      setOpenId(id);
      remember(userId, id);
    },
    [userId],
  );

  /** Opens the conversation this tab had open, else the latest one, else an empty one. */
  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      void api.assistantMode(userId).then(setMode, () => setMode(null));
      const items = await refreshList();
      const wanted = remembered(userId) ?? items[0]?.id;
      if (wanted) {
        await show(wanted).catch(async (failure: unknown) => {
          // Deleted meanwhile (e.g. in another tab): fall back to the latest.
          if (!(failure instanceof ApiError && failure.status === 404)) throw failure;
          remember(userId, null);
          if (items[0] && items[0].id !== wanted) await show(items[0].id);
        });
      }
    } catch (failure) {
      fail(failure);
    } finally {
      setLoading(false);
    }
  }, [userId, refreshList, show, fail]);

  useEffect(() => {
    void load();
  }, [load]);

  const open = useCallback(
    async (id: number) => {
      setError(null);
      try {
        await show(id);
        return true;
      } catch (failure) {
        fail(failure);
        if (failure instanceof ApiError && failure.status === 404) await refreshList();
        return false;
      }
    },
    [show, fail, refreshList],
  );

  const startNew = useCallback(() => {
    setEntries([]);
    setOpenId(null);
    setError(null);
    remember(userId, null);
  }, [userId]);

  const loadOlder = useCallback(async () => {
    if (nextBefore === null) return;
    try {
      const page = await api.listConversations(userId, nextBefore);
      setConversations((current) => [...(current ?? []), ...page.items]);
      setNextBefore(page.next_before);
    } catch (failure) {
      fail(failure);
    }
  }, [userId, nextBefore, fail]);

  const remove = useCallback(
    async (id: number) => {
      setError(null);
      try {
        await api.deleteConversation(userId, id);
      } catch (failure) {
        if (!(failure instanceof ApiError && failure.status === 404)) {
          fail(failure);
          return false;
        }
      }
      if (id === openId) startNew();
      await refreshList().catch(fail);
      return true;
    },
    [userId, openId, startNew, refreshList, fail],
  );

  /** After a failed turn: show what the server kept. True when it stored the message. */
  const recover = useCallback(
    async (message: string, knownIds: Set<number>): Promise<boolean> => {
      try {
        const items = await refreshList();
        // A first message starts a conversation the reply never named: the newest new one.
        const id = openId ?? items.find((item) => !knownIds.has(item.id))?.id;
        if (!id) return false;
        const conversation = await api.conversation(userId, id);
        // Stored when the server has this message once more than the transcript showed.
        const sentBefore = entries.filter((e) => e.role === "user" && e.text === message);
        const onServer = conversation.messages.filter(
          (m) => m.role === "user" && m.content === message,
        );
        const stored = onServer.length > sentBefore.length;
        if (stored) await show(id);
        return stored;
      } catch {
        return false;
      }
    },
    [userId, openId, entries, refreshList, show],
  );

  /** Sends one message; resolves false when it was not delivered (so it can go back to the input). */
  const send = useCallback(
    async (message: string): Promise<boolean> => {
      const knownIds = new Set((conversations ?? []).map((c) => c.id));
      const sent: Entry = {
        key: `local${localKey.current++}`,
        role: "user",
        text: message,
        toolCalls: [],
      };
      setBusy(true);
      setError(null);
      setEntries((current) => [...current, sent]);
      setReply({ key: `local${localKey.current++}`, role: "assistant", text: "", toolCalls: [] });
      try {
        const final = await api.chat(userId, message, openId, (event) =>
          setReply((current) => current && withEvent(current, event)),
        );
        setEntries((current) => [
          ...current,
          {
            key: `local${localKey.current++}`,
            role: "assistant",
            text: final.response,
            toolCalls: final.tool_calls,
          },
        ]);
        setMode(final.mode ?? null);
        setOpenId(final.conversation_id);
        remember(userId, final.conversation_id);
        void refreshList().catch(() => undefined);
        return true;
      } catch (failure) {
        fail(failure);
        setEntries((current) => current.filter((entry) => entry !== sent));
        const kept = await recover(message, knownIds);
        if (kept) setError({ message: KEPT, retryable: false });
        return kept;
      } finally {
        setReply(null);
        setBusy(false);
        onTurn(); // even a failed turn may have changed tasks before it failed
      }
    },
    [userId, openId, conversations, fail, recover, refreshList, onTurn],
  );

  return {
    mode,
    conversations,
    nextBefore,
    openId,
    entries,
    reply,
    loading,
    busy,
    error,
    clearError: useCallback(() => setError(null), []),
    load,
    open,
    startNew,
    loadOlder,
    remove,
    send,
  };
}
