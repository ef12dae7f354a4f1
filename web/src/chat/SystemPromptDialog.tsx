// The conversation's own system prompt (it replaces the user's custom instructions for this chat).
import { Dialog, DialogPanel, DialogTitle } from "@headlessui/react";
import { useState } from "react";

export function SystemPromptButton({ value, onSave }: { value: string | null; onSave(prompt: string | null): Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState(value ?? "");
  return (
    <>
      <button
        type="button"
        onClick={() => {
          setText(value ?? "");
          setOpen(true);
        }}
        className={`rounded-lg px-2 py-1 text-xs hover:bg-zinc-100 dark:hover:bg-zinc-800 ${value ? "text-sky-700 dark:text-sky-400" : "text-zinc-500"}`}
      >
        System prompt{value ? " ✓" : ""}
      </button>
      <Dialog open={open} onClose={() => setOpen(false)} className="relative z-50">
        <div className="fixed inset-0 bg-black/40" aria-hidden="true" />
        <div className="fixed inset-0 flex items-center justify-center p-4">
          <DialogPanel className="w-full max-w-lg rounded-xl bg-white p-5 shadow-xl dark:bg-zinc-800">
            <DialogTitle className="text-lg font-semibold">System prompt for this chat</DialogTitle>
            <p className="mt-1 text-sm text-zinc-500">Used instead of your custom instructions. Leave it empty to use them.</p>
            <label htmlFor="system-prompt" className="sr-only">System prompt</label>
            <textarea id="system-prompt" rows={6} value={text} onChange={(e) => setText(e.target.value)} className="mt-3 w-full rounded-lg border border-zinc-300 bg-white p-2 dark:border-zinc-700 dark:bg-zinc-900" />
            <div className="mt-4 flex justify-end gap-2">
              <button type="button" onClick={() => setOpen(false)} className="rounded-lg px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-700">Cancel</button>
              <button
                type="button"
                onClick={async () => {
                  await onSave(text.trim() ? text : null);
                  setOpen(false);
                }}
                className="rounded-lg bg-zinc-900 px-3 py-1.5 text-sm font-medium text-white dark:bg-zinc-100 dark:text-zinc-900"
              >
                Save
              </button>
            </div>
          </DialogPanel>
        </div>
      </Dialog>
    </>
  );
}
