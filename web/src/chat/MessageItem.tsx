// One message on the path: the text, and its actions (copy, edit a question, regenerate an answer,
// ‹ 2/3 › between alternatives). Failed or interrupted answers say so and can be retried.
import { useState } from "react";
import type { Message } from "../api/types";
import { CheckIcon, ChevronLeft, ChevronRight, CopyIcon, EditIcon, RetryIcon } from "../components/Icons";
import { MessageContent } from "./MessageContent";
import type { PathItem } from "./tree";

const notes: Partial<Record<Message["status"], string>> = {
  stopped: "Stopped.",
  interrupted: "The server stopped while this answer was being written.",
  failed: "This answer failed.",
};

export function MessageItem(props: {
  item: PathItem;
  streaming: boolean;
  busy: boolean;
  onEdit(message: Message, text: string): void;
  onRegenerate(message: Message): void;
  onSwitch(sibling: Message): void;
}) {
  const { item, streaming, busy } = props;
  const m = item.message;
  const [copied, setCopied] = useState(false);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.content);
  const user = m.role === "user";

  const actionClass = "rounded p-1 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 disabled:opacity-30 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";
  return (
    <article className={`message-row mx-auto flex w-full max-w-3xl flex-col px-4 py-3 ${user ? "items-end" : "items-start"}`} aria-label={user ? "You said" : "Parley said"} data-role={m.role} data-status={m.status}>
      {editing ? (
        <form
          className="w-full"
          onSubmit={(e) => {
            e.preventDefault();
            if (!draft.trim()) return;
            setEditing(false);
            props.onEdit(m, draft.trim());
          }}
        >
          <label className="sr-only" htmlFor={`edit-${m.id}`}>Edit message</label>
          <textarea id={`edit-${m.id}`} autoFocus value={draft} onChange={(e) => setDraft(e.target.value)} rows={3} className="w-full rounded-xl border border-zinc-300 bg-white p-3 dark:border-zinc-700 dark:bg-zinc-800" />
          <div className="mt-2 flex justify-end gap-2">
            <button type="button" onClick={() => setEditing(false)} className="rounded-lg px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">Cancel</button>
            <button type="submit" disabled={busy} className="rounded-lg bg-zinc-900 px-3 py-1.5 text-sm text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900">Send</button>
          </div>
        </form>
      ) : (
        <div className={`message-content ${user ? "max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 dark:bg-zinc-800" : "w-full"}`}>
          <MessageContent text={m.content} markdown={!user} />
          {streaming && m.content === "" && <span className="inline-block h-4 w-2 animate-pulse bg-zinc-400" aria-label="Writing" />}
        </div>
      )}
      {!streaming && notes[m.status] && (
        <p role={m.status === "failed" ? "alert" : undefined} className="mt-1 text-sm text-amber-700 dark:text-amber-400">
          {notes[m.status]} {m.error && m.status === "failed" ? m.error : ""}
        </p>
      )}
      {!editing && !streaming && (
        <div className="mt-1 flex items-center gap-1 text-sm">
          {item.siblings.length > 1 && (
            <span className="flex items-center text-zinc-500" aria-label="Versions">
              <button type="button" className={actionClass} disabled={busy || item.index === 0} onClick={() => props.onSwitch(item.siblings[item.index - 1])} aria-label="Previous version">
                <ChevronLeft />
              </button>
              <span className="tabular-nums">{item.index + 1}/{item.siblings.length}</span>
              <button type="button" className={actionClass} disabled={busy || item.index === item.siblings.length - 1} onClick={() => props.onSwitch(item.siblings[item.index + 1])} aria-label="Next version">
                <ChevronRight />
              </button>
            </span>
          )}
          <button
            type="button"
            className={actionClass}
            aria-label="Copy message"
            onClick={() => {
              void navigator.clipboard?.writeText(m.content);
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            }}
          >
            {copied ? <CheckIcon /> : <CopyIcon />}
          </button>
          {user ? (
            <button type="button" className={actionClass} disabled={busy} aria-label="Edit message" onClick={() => { setDraft(m.content); setEditing(true); }}>
              <EditIcon />
            </button>
          ) : (
            <button type="button" className={actionClass} disabled={busy} aria-label={m.status === "complete" ? "Regenerate" : "Retry"} onClick={() => props.onRegenerate(m)}>
              <RetryIcon />
            </button>
          )}
        </div>
      )}
    </article>
  );
}
