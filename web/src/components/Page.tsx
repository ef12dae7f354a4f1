// The frame of the settings-like pages: a header with the sidebar button and a scrolling body.
import type { ReactNode } from "react";
import { SidebarButton } from "./Shell";

export function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <>
      <header className="flex items-center gap-2 px-3 py-2">
        <SidebarButton />
        <h1 className="text-lg font-semibold">{title}</h1>
      </header>
      <div className="flex-1 overflow-y-auto">
        <div className="mx-auto max-w-2xl space-y-8 px-4 py-6">{children}</div>
      </div>
    </>
  );
}

export const inputClass = "w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 dark:border-zinc-700 dark:bg-zinc-800";
export const buttonClass = "rounded-lg bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900";
