// The admin's page: users (disable or enable), whether sign-up is open, and usage per user per day.
import { useEffect, useState } from "react";
import { get, json } from "../api/client";
import type { UsageRow, User } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { Page } from "../components/Page";

export function AdminPage() {
  const { user: me } = useAuth();
  const [users, setUsers] = useState<User[]>([]);
  const [usage, setUsage] = useState<UsageRow[]>([]);
  const [open, setOpen] = useState<boolean | null>(null);

  useEffect(() => {
    void get<User[]>("/api/admin/users").then(setUsers);
    void get<UsageRow[]>("/api/admin/usage?days=30").then(setUsage);
    void get<{ registrationOpen: boolean }>("/api/admin/settings").then((s) => setOpen(s.registrationOpen));
  }, []);

  async function toggle(u: User) {
    const updated = await json<User>("PATCH", `/api/admin/users/${u.id}`, { isDisabled: !u.isDisabled });
    setUsers((old) => old.map((x) => (x.id === u.id ? updated : x)));
  }

  async function setRegistration(value: boolean) {
    setOpen(value);
    try {
      const s = await json<{ registrationOpen: boolean }>("PUT", "/api/admin/settings", { registrationOpen: value });
      setOpen(s.registrationOpen);
    } catch {
      setOpen(!value);
    }
  }

  return (
    <Page title="Admin">
      <section className="space-y-2">
        <h2 className="font-medium">Sign-up</h2>
        <label className="flex items-center gap-2">
          <input type="checkbox" checked={open ?? false} disabled={open === null} onChange={(e) => void setRegistration(e.target.checked)} />
          Anyone may create an account
        </label>
      </section>
      <section className="space-y-2">
        <h2 className="font-medium">Users</h2>
        <table className="w-full text-left text-sm">
          <thead className="text-zinc-500"><tr><th className="py-1">User</th><th>Role</th><th>Since</th><th /></tr></thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} className="border-t border-zinc-200 dark:border-zinc-800">
                <td className="py-2">{u.username}{u.isDisabled && <span className="ml-2 text-xs text-red-600">disabled</span>}</td>
                <td>{u.isAdmin ? "admin" : "user"}</td>
                <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                <td className="text-right">
                  {u.id !== me?.id && (
                    <button type="button" onClick={() => void toggle(u)} className="rounded px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800">
                      {u.isDisabled ? "Enable" : "Disable"}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="space-y-2">
        <h2 className="font-medium">Usage, last 30 days</h2>
        {usage.length === 0 ? <p className="text-sm text-zinc-500">No usage yet.</p> : (
          <table className="w-full text-left text-sm">
            <thead className="text-zinc-500"><tr><th className="py-1">Day</th><th>User</th><th className="text-right">Prompt</th><th className="text-right">Completion</th><th className="text-right">Requests</th></tr></thead>
            <tbody>
              {usage.map((r) => (
                <tr key={`${r.day}-${r.userId}`} className="border-t border-zinc-200 tabular-nums dark:border-zinc-800">
                  <td className="py-1">{r.day}</td><td>{r.username}</td><td className="text-right">{r.promptTokens}</td><td className="text-right">{r.completionTokens}</td><td className="text-right">{r.requests}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
