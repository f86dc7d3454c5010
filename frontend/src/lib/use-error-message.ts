"use client";

import { useRouter } from "next/navigation";
import { useCallback } from "react";
import { ApiError, SessionExpired } from "./api";

/** Turns a failed back-end call into a sentence; an ended session goes back to sign-in. */
export function useErrorMessage(): (error: unknown) => string {
  const router = useRouter();
  return useCallback(
    (error: unknown) => {
      if (error instanceof SessionExpired) {
        router.replace("/sign-in");
        router.refresh();
        return error.message;
      }
      if (error instanceof ApiError) return error.message;
      return "Something went wrong. Try again.";
    },
    [router],
  );
}
