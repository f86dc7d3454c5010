"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useState } from "react";
import { authClient, authErrorMessage } from "@/lib/auth-client";
import {
  EMAIL_MAX_LENGTH,
  NAME_MAX_LENGTH,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
} from "@/lib/limits";

type Mode = "sign-in" | "sign-up";

const COPY = {
  "sign-in": {
    heading: "Sign in",
    submit: "Sign in",
    busy: "Signing in…",
    switchText: "No account yet?",
    switchLink: "Create one",
    switchHref: "/sign-up",
  },
  "sign-up": {
    heading: "Create your account",
    submit: "Create account",
    busy: "Creating account…",
    switchText: "Already have an account?",
    switchLink: "Sign in",
    switchHref: "/sign-in",
  },
} as const;

interface Credentials {
  email: string;
  password: string;
  name: string;
}

function readForm(form: FormData): Credentials {
  return {
    email: String(form.get("email") ?? "").trim(),
    password: String(form.get("password") ?? ""),
    name: String(form.get("name") ?? "").trim(),
  };
}

/** What the browser's own checks let through but the server would refuse. */
function problemWith(mode: Mode, { name }: Credentials): string | null {
  if (mode === "sign-up" && !name) return "Enter your name.";
  return null;
}

async function signUpThenSignIn({ email, password, name }: Credentials) {
  const signedUp = await authClient.signUp.email({ email, password, name });
  if (signedUp.error) return signedUp;
  const signedIn = await authClient.signIn.email({ email, password });
  // The sign-up's answer is alike whether or not the email had an account, so a refused
  // sign-in right after it is worded for both: a typo, or an account made before.
  if (signedIn.error?.code === "INVALID_EMAIL_OR_PASSWORD") {
    return { error: { ...signedIn.error, code: "SIGNED_UP_BUT_NOT_SIGNED_IN" } };
  }
  return signedIn;
}

async function submitCredentials(mode: Mode, credentials: Credentials) {
  const { email, password } = credentials;
  try {
    if (mode === "sign-in") return await authClient.signIn.email({ email, password });
    return await signUpThenSignIn(credentials);
  } catch {
    return { error: { status: 0, message: "Cannot reach the server. Try again." } };
  }
}

export function AuthForm({ mode }: { mode: Mode }) {
  const copy = COPY[mode];
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const credentials = readForm(new FormData(event.currentTarget));
    const problem = problemWith(mode, credentials);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    const { error: failure } = await submitCredentials(mode, credentials);
    if (failure) {
      setError(authErrorMessage(failure));
      setBusy(false);
      return;
    }
    router.replace("/tasks");
    router.refresh();
  }

  return (
    <main className="auth-page">
      <div className="auth-brand">
        <p className="product-name" data-testid="product-name">
          Todo AI Chatbot
        </p>
        <p className="tagline">Your tasks, with an assistant that can manage them for you.</p>
      </div>
      <form
        className="card auth-card"
        onSubmit={onSubmit}
        // An error is about what was typed: it goes as soon as the input changes.
        onInput={() => setError(null)}
        data-testid={`${mode}-form`}
      >
        <h1>{copy.heading}</h1>
        {mode === "sign-up" && (
          <label className="field">
            <span>Name</span>
            <input
              name="name"
              autoComplete="name"
              required
              maxLength={NAME_MAX_LENGTH}
              data-testid="auth-name"
            />
          </label>
        )}
        <label className="field">
          <span>Email</span>
          <input
            name="email"
            type="email"
            autoComplete="email"
            required
            maxLength={EMAIL_MAX_LENGTH}
            data-testid="auth-email"
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete={mode === "sign-in" ? "current-password" : "new-password"}
            required
            minLength={PASSWORD_MIN_LENGTH}
            maxLength={PASSWORD_MAX_LENGTH}
            aria-describedby={mode === "sign-up" ? "password-hint" : undefined}
            data-testid="auth-password"
          />
        </label>
        {mode === "sign-up" && (
          <p id="password-hint" className="hint">
            At least 8 characters.
          </p>
        )}
        {error && (
          <p role="alert" className="error" data-testid="auth-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="auth-submit">
          {busy ? copy.busy : copy.submit}
        </button>
        <p className="switch">
          {copy.switchText} <Link href={copy.switchHref}>{copy.switchLink}</Link>
        </p>
      </form>
    </main>
  );
}
