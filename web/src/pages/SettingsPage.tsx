// Settings: theme, default model, custom instructions, temperature; and the password.
import { useEffect, useState, type FormEvent } from "react";
import { ApiError, json } from "../api/client";
import type { Settings } from "../api/types";
import { buttonClass, inputClass, Page } from "../components/Page";
import { useModels } from "../chat/ModelPicker";
import { invalidateSettings, useSettings } from "../lib/settings";
import { setTheme } from "../lib/theme";

export function SettingsPage() {
  const loaded = useSettings();
  const models = useModels();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [passwords, setPasswords] = useState({ currentPassword: "", newPassword: "" });
  const [passwordNote, setPasswordNote] = useState<string | null>(null);

  useEffect(() => setSettings(loaded), [loaded]);
  if (!settings) return <Page title="Settings"><p role="status">Loading…</p></Page>;

  async function save(e: FormEvent) {
    e.preventDefault();
    try {
      const result = await json<Settings>("PUT", "/api/settings", settings);
      invalidateSettings();
      setSettings(result);
      setTheme(result.theme);
      setSaved("Saved.");
    } catch (err) {
      setSaved((err as Error).message);
    }
  }

  async function changePassword(e: FormEvent) {
    e.preventDefault();
    try {
      await json("POST", "/api/auth/password", passwords);
      setPasswords({ currentPassword: "", newPassword: "" });
      setPasswordNote("Password changed. Other devices were signed out.");
    } catch (err) {
      setPasswordNote(err instanceof ApiError ? err.message : "The password could not be changed.");
    }
  }

  return (
    <Page title="Settings">
      <form onSubmit={save} className="space-y-5">
        <fieldset>
          <legend className="mb-2 font-medium">Theme</legend>
          <div className="flex gap-4">
            {(["light", "dark", "system"] as const).map((t) => (
              <label key={t} className="flex items-center gap-2 capitalize">
                <input type="radio" name="theme" value={t} checked={settings.theme === t} onChange={() => { setSettings({ ...settings, theme: t }); setTheme(t); }} />
                {t}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="space-y-1">
          <label htmlFor="default-model" className="block font-medium">Default model</label>
          <select id="default-model" className={inputClass} value={settings.defaultModel ?? ""} onChange={(e) => setSettings({ ...settings, defaultModel: e.target.value || null })}>
            <option value="">The server's default</option>
            {models.map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
          </select>
        </div>
        <div className="space-y-1">
          <label htmlFor="instructions" className="block font-medium">Custom instructions</label>
          <p className="text-sm text-zinc-500">Sent as the system prompt of every conversation that sets none.</p>
          <textarea id="instructions" rows={5} className={inputClass} value={settings.systemPrompt ?? ""} onChange={(e) => setSettings({ ...settings, systemPrompt: e.target.value })} />
        </div>
        <div className="space-y-1">
          <label htmlFor="temperature" className="block font-medium">Temperature: {settings.temperature ?? 0.7}</label>
          <input id="temperature" type="range" min={0} max={2} step={0.1} className="w-full" value={settings.temperature ?? 0.7} onChange={(e) => setSettings({ ...settings, temperature: Number(e.target.value) })} />
        </div>
        <div className="flex items-center gap-3">
          <button type="submit" className={buttonClass}>Save</button>
          {saved && <span role="status" className="text-sm text-zinc-600">{saved}</span>}
        </div>
      </form>
      <form onSubmit={changePassword} className="space-y-3 border-t border-zinc-200 pt-6 dark:border-zinc-800">
        <h2 className="font-medium">Password</h2>
        <label className="block space-y-1">
          <span className="text-sm">Current password</span>
          <input type="password" autoComplete="current-password" className={inputClass} value={passwords.currentPassword} onChange={(e) => setPasswords({ ...passwords, currentPassword: e.target.value })} required />
        </label>
        <label className="block space-y-1">
          <span className="text-sm">New password</span>
          <input type="password" autoComplete="new-password" minLength={8} className={inputClass} value={passwords.newPassword} onChange={(e) => setPasswords({ ...passwords, newPassword: e.target.value })} required />
        </label>
        <div className="flex items-center gap-3">
          <button type="submit" className={buttonClass}>Change password</button>
          {passwordNote && <span role="status" className="text-sm text-zinc-600">{passwordNote}</span>}
        </div>
      </form>
    </Page>
  );
}
