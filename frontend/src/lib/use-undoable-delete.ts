"use client";

import { useCallback, useEffect, useRef, useState } from "react";

/** Deletes after a grace period during which the user may undo; leaving the page carries it
 * out at once. One at a time: a second delete carries out the first. */
export function useUndoableDelete<T>(commit: (item: T) => Promise<unknown>, graceMs: number) {
  const [pending, setPending] = useState<T | null>(null);
  const current = useRef<T | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const commitRef = useRef(commit);
  commitRef.current = commit;

  const settle = useCallback((carryOut: boolean) => {
    const item = current.current;
    window.clearTimeout(timer.current);
    current.current = null;
    setPending(null);
    if (item !== null && carryOut) void commitRef.current(item);
  }, []);

  const remove = useCallback(
    (item: T) => {
      settle(true);
      current.current = item;
      setPending(item);
      timer.current = window.setTimeout(() => settle(true), graceMs);
    },
    [settle, graceMs],
  );

  useEffect(() => {
    const flush = () => settle(true);
    window.addEventListener("pagehide", flush);
    return () => {
      window.removeEventListener("pagehide", flush);
      flush();
    };
  }, [settle]);

  return { pending, remove, undo: useCallback(() => settle(false), [settle]) };
}
