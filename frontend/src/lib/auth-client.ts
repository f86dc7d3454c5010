import { createAuthClient } from "better-auth/react";

/** Browser side of better-auth; no base URL: it talks to `/api/auth` on the page's own origin. */
export const authClient = createAuthClient();

const AUTH_ERRORS: Record<string, string> = {
  INVALID_EMAIL_OR_PASSWORD: "Invalid email or password.",
  USER_ALREADY_EXISTS: "An account with this email already exists.",
  USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL: "An account with this email already exists.",
  PASSWORD_TOO_SHORT: "Password must be at least 8 characters.",
  PASSWORD_TOO_LONG: "Password is too long.",
  INVALID_EMAIL: "Enter a valid email address, like name@example.com.",
  NAME_REQUIRED: "Enter your name.",
  // AuthForm's: a sign-up never says whether the email had an account; the sign-in after it
  // then fails for a mistyped password as for an account made before.
  SIGNED_UP_BUT_NOT_SIGNED_IN:
    "We could not sign you in with these details. If you already have an account, sign in instead.",
  // The page's origin is not in TRUSTED_ORIGINS (or BETTER_AUTH_URL): a deployment setting.
  INVALID_ORIGIN: "Sign-in is not enabled for this address. Open the app at its usual URL.",
};

// better-auth's input checks answer "[body.email] Invalid email address": a sentence per field.
const FIELD_ERRORS: Record<string, string> = {
  email: "Enter a valid email address, like name@example.com.",
  password: "Enter a password of 8 to 128 characters.",
  name: "Enter your name.",
};

function validationMessage(message: string | undefined): string | undefined {
  const field = /\[body\.(\w+)\]/.exec(message ?? "")?.[1];
  return field ? (FIELD_ERRORS[field] ?? "Check the form and try again.") : undefined;
}

/** A sentence for a better-auth error, never a raw code. */
export function authErrorMessage(error: {
  code?: string;
  status?: number;
  message?: string;
}): string {
  const known = error.code ? AUTH_ERRORS[error.code] : undefined;
  if (known) return known;
  const invalid = validationMessage(error.message);
  if (invalid) return invalid;
  if (error.status === 429) return "Too many attempts. Wait a minute and try again.";
  if (!error.status || error.status >= 500) {
    return "The sign-in service is unavailable. Try again in a moment.";
  }
  return "Check the form and try again.";
}
