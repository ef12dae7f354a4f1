// Where a message is written: grows with its text, Enter sends, Shift+Enter starts a new line, and
// the draft survives a reload. Sending is refused only while an answer streams; typing never is.
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { loadDraft, saveDraft } from "../lib/drafts";
import { SendIcon, StopIcon } from "../components/Icons";
import type { SendResult } from "./useChat";

export function Composer(props: { draftKey: string; streaming: boolean; onSend(text: string): Promise<SendResult>; onStop(): void; initial?: string }) {
  const { draftKey, streaming, onSend, onStop } = props;
  const [text, setText] = useState(() => props.initial ?? loadDraft(draftKey));
  const [error, setError] = useState<string | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);

  // Another conversation's draft when the key changes; not on mount, where the state already holds
  // it: a mount effect that set it again would wipe text typed before the effect ran.
  const loadedFor = useRef({ draftKey, initial: props.initial });
  useEffect(() => {
    if (loadedFor.current.draftKey === draftKey && loadedFor.current.initial === props.initial) return;
    loadedFor.current = { draftKey, initial: props.initial };
    setText(props.initial ?? loadDraft(draftKey));
  }, [draftKey, props.initial]);
  useEffect(() => saveDraft(draftKey, text), [draftKey, text]);
  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  async function submit(e?: FormEvent) {
    e?.preventDefault();
    const message = text.trim();
    if (!message || streaming) return;
    setError(null);
    setText("");
    const result = await onSend(message);
    if (!result.ok) setText((current) => current || message); // never lose what was typed
    if (result.error) setError(result.error);
    area.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === "Escape" && streaming) {
      e.preventDefault();
      onStop();
    }
  }

  return (
    <form onSubmit={submit} className="mx-auto w-full max-w-3xl px-4 pb-4">
      {error && (
        <p role="alert" className="mb-2 rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
          {error}
        </p>
      )}
      <div className="flex items-end gap-2 rounded-2xl border border-zinc-300 bg-white p-2 shadow-sm focus-within:border-zinc-400 dark:border-zinc-700 dark:bg-zinc-800">
        <label htmlFor="composer" className="sr-only">Message</label>
        <textarea
          id="composer"
          ref={area}
          rows={1}
          autoFocus
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          placeholder="Message Parley"
          className="max-h-60 flex-1 resize-none bg-transparent px-2 py-1.5 outline-none"
        />
        {streaming ? (
          <button type="button" onClick={onStop} className="rounded-full bg-zinc-900 p-2 text-white dark:bg-zinc-100 dark:text-zinc-900" aria-label="Stop generating" title="Stop (Esc)">
            <StopIcon />
          </button>
        ) : (
          <button type="submit" disabled={!text.trim()} className="rounded-full bg-zinc-900 p-2 text-white disabled:opacity-30 dark:bg-zinc-100 dark:text-zinc-900" aria-label="Send message">
            <SendIcon />
          </button>
        )}
      </div>
      <p className="mt-1 text-center text-xs text-zinc-500">Enter sends, Shift+Enter adds a line. Answers can be wrong.</p>
    </form>
  );
}
