// The model list from /v1/models (the same the API offers), as a keyboard-friendly listbox.
import { Listbox, ListboxButton, ListboxOption, ListboxOptions } from "@headlessui/react";
import { useEffect, useState } from "react";
import { get } from "../api/client";
import type { Model } from "../api/types";

let cache: Promise<Model[]> | null = null;

export function useModels(): Model[] {
  const [models, setModels] = useState<Model[]>([]);
  useEffect(() => {
    cache ??= get<{ data: Model[] }>("/v1/models").then((r) => r.data, (e) => { cache = null; throw e; });
    cache.then(setModels, () => undefined);
  }, []);
  return models;
}

export function ModelPicker({ value, onChange }: { value: string | null; onChange(model: string): void }) {
  const models = useModels();
  const current = value ?? models[0]?.id ?? "";
  return (
    <Listbox value={current} onChange={onChange}>
      <ListboxButton className="max-w-[14rem] truncate rounded-lg px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label="Model">
        {current || "Model"} <span aria-hidden="true">▾</span>
      </ListboxButton>
      <ListboxOptions anchor="bottom start" className="z-30 min-w-[14rem] rounded-lg border border-zinc-200 bg-white p-1 text-sm shadow-lg dark:border-zinc-700 dark:bg-zinc-800">
        {models.map((m) => (
          <ListboxOption key={m.id} value={m.id} className="cursor-default rounded px-3 py-1.5 data-focus:bg-zinc-100 data-selected:font-semibold dark:data-focus:bg-zinc-700">
            {m.id}
          </ListboxOption>
        ))}
      </ListboxOptions>
    </Listbox>
  );
}
