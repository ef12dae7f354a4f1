// A modal question with Cancel and a (destructive) confirm button; Escape or a click outside cancels.
import { Dialog, DialogPanel, DialogTitle } from "@headlessui/react";

export function ConfirmDialog(props: { open: boolean; title: string; body: string; confirm: string; onConfirm(): void; onClose(): void }) {
  return (
    <Dialog open={props.open} onClose={props.onClose} className="relative z-50">
      <div className="fixed inset-0 bg-black/40" aria-hidden="true" />
      <div className="fixed inset-0 flex items-center justify-center p-4">
        <DialogPanel className="w-full max-w-sm rounded-xl bg-white p-5 shadow-xl dark:bg-zinc-800">
          <DialogTitle className="text-lg font-semibold">{props.title}</DialogTitle>
          <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-300">{props.body}</p>
          <div className="mt-5 flex justify-end gap-2">
            <button type="button" onClick={props.onClose} className="rounded-lg px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-700">
              Cancel
            </button>
            <button type="button" onClick={props.onConfirm} className="rounded-lg bg-red-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-700">
              {props.confirm}
            </button>
          </div>
        </DialogPanel>
      </div>
    </Dialog>
  );
}
