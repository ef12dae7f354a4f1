// API keys for /v1: create one (shown once, with a copy button), list them by prefix, revoke.
import { useEffect, useState, type FormEvent } from "react";
import { get, json } from "../api/client";
import type { ApiKey } from "../api/types";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { buttonClass, inputClass, Page } from "../components/Page";

export function KeysPage() {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => void get<ApiKey[]>("/api/keys").then(setKeys), []);

  async function create(e: FormEvent) {
    e.preventDefault();
    try {
      const key = await json<ApiKey>("POST", "/api/keys", { name });
      setCreated(key);
      setName("");
      setKeys((old) => [key, ...(old ?? [])]);
    } catch (err) {
      setError((err as Error).message);
    }
  }

  async function revoke() {
    if (!revoking) return;
    await json("DELETE", `/api/keys/${revoking.id}`);
    setKeys((old) => old?.filter((k) => k.id !== revoking.id) ?? null);
    setRevoking(null);
  }

  return (
    <Page title="API keys">
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Use a key with any OpenAI client: base URL <code>{location.origin}/v1</code>, header <code>Authorization: Bearer KEY</code>.
      </p>
      <form onSubmit={create} className="flex gap-2">
        <label htmlFor="key-name" className="sr-only">Key name</label>
        <input id="key-name" required maxLength={100} placeholder="Name, e.g. laptop" className={inputClass} value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className={buttonClass}>Create key</button>
      </form>
      {error && <p role="alert" className="text-sm text-red-600">{error}</p>}
      {created?.key && (
        <div role="status" className="space-y-2 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-700 dark:bg-amber-950">
          <p>Copy this key now: it will not be shown again.</p>
          <div className="flex gap-2">
            <code className="flex-1 break-all rounded bg-white px-2 py-1 dark:bg-zinc-900" data-testid="new-key">{created.key}</code>
            <button type="button" className={buttonClass} onClick={() => void navigator.clipboard?.writeText(created.key!)}>Copy</button>
          </div>
        </div>
      )}
      <ul className="divide-y divide-zinc-200 dark:divide-zinc-800">
        {keys?.length === 0 && <li className="py-2 text-sm text-zinc-500">No keys yet.</li>}
        {keys?.map((k) => (
          <li key={k.id} className="flex items-center justify-between py-2">
            <div>
              <div className="font-medium">{k.name}</div>
              <div className="text-sm text-zinc-500"><code>{k.prefix}…</code> · created {new Date(k.createdAt).toLocaleDateString()}{k.lastUsedAt ? ` · used ${new Date(k.lastUsedAt).toLocaleString()}` : ""}</div>
            </div>
            <button type="button" className="rounded-lg px-3 py-1.5 text-sm text-red-600 hover:bg-red-50 dark:hover:bg-red-950" onClick={() => setRevoking(k)}>Revoke</button>
          </li>
        ))}
      </ul>
      <ConfirmDialog open={revoking !== null} title="Revoke key?" body={`Programs using “${revoking?.name}” will stop working.`} confirm="Revoke" onConfirm={() => void revoke()} onClose={() => setRevoking(null)} />
    </Page>
  );
}
