// The user's settings, read once per page and shared.
import { useEffect, useState } from "react";
import { get } from "../api/client";
import type { Settings } from "../api/types";

let cache: Promise<Settings> | null = null;

export function invalidateSettings() {
  cache = null;
}

export function useSettings(): Settings | null {
  const [settings, setSettings] = useState<Settings | null>(null);
  useEffect(() => {
    cache ??= get<Settings>("/api/settings").catch((e) => { cache = null; throw e; });
    cache.then(setSettings, () => undefined);
  }, []);
  return settings;
}
