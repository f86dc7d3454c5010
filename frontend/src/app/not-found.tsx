import Link from "next/link";

export default function NotFound() {
  return (
    <main className="auth-page">
      <div className="card auth-card">
        <h1>Page not found</h1>
        <p>
          <Link href="/">Go to your tasks</Link>
        </p>
      </div>
    </main>
  );
}
