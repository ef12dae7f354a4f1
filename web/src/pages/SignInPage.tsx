// Sign in, sign up, and the first-run screen that creates the admin account.
import { useState, type FormEvent } from "react";
import { Link, Navigate, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { useAuth } from "../auth/AuthContext";

export function SignInPage({ register }: { register: boolean }) {
  const { user, status, signIn } = useAuth();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = params.get("next") ?? "/";
  const setup = status?.needsSetup ?? false;
  const creating = register || setup;

  if (user) return <Navigate to={next.startsWith("/") && !next.startsWith("//") ? next : "/"} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username, password, creating);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Parley cannot be reached. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  const title = setup ? "Welcome to Parley" : creating ? "Create your account" : "Sign in to Parley";
  return (
    <main className="flex min-h-full items-center justify-center px-4 py-12">
      <form onSubmit={submit} className="w-full max-w-sm space-y-5" aria-labelledby="auth-title">
        <div>
          <h1 id="auth-title" className="text-2xl font-semibold">{title}</h1>
          {setup && <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">Create the administrator account to get started.</p>}
        </div>
        <div className="space-y-1">
          <label htmlFor="username" className="block text-sm font-medium">User name</label>
          <input
            id="username"
            autoComplete="username"
            autoFocus
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            className="w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 dark:border-zinc-700 dark:bg-zinc-800"
          />
        </div>
        <div className="space-y-1">
          <label htmlFor="password" className="block text-sm font-medium">Password</label>
          <input
            id="password"
            type="password"
            autoComplete={creating ? "new-password" : "current-password"}
            required
            minLength={creating ? 8 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className="w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 dark:border-zinc-700 dark:bg-zinc-800"
          />
          {creating && <p className="text-xs text-zinc-500">At least 8 characters.</p>}
        </div>
        {error && (
          <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
            {error}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          className="w-full rounded-lg bg-zinc-900 px-3 py-2 font-medium text-white hover:bg-zinc-700 disabled:opacity-60 dark:bg-zinc-100 dark:text-zinc-900 dark:hover:bg-zinc-300"
        >
          {creating ? "Create account" : "Sign in"}
        </button>
        {!setup && (
          <p className="text-center text-sm text-zinc-600 dark:text-zinc-400">
            {creating ? (
              <>Already have an account? <Link className="underline" to={`/signin?next=${encodeURIComponent(next)}`}>Sign in</Link></>
            ) : status?.registrationOpen ? (
              <>New here? <Link className="underline" to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link></>
            ) : null}
          </p>
        )}
      </form>
    </main>
  );
}
