"use client";

/** Shown when a page cannot be rendered, e.g. the database behind sign-in is down. */
export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <main className="auth-page">
      <div className="card auth-card" role="alert" data-testid="page-error">
        <h1>Something went wrong</h1>
        <p>The service is temporarily unavailable. Please try again in a moment.</p>
        <button type="button" className="primary" onClick={reset}>
          Try again
        </button>
      </div>
    </main>
  );
}
