// A conversation: its branch on screen, answers streaming in, and the composer. Scrolling stays
// pinned to the bottom while an answer streams unless the reader scrolls up.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useLocation, useNavigate, useParams } from "react-router";
import { json } from "../api/client";
import type { Conversation } from "../api/types";
import { ArrowDown } from "../components/Icons";
import { SidebarButton } from "../components/Shell";
import { saveDraft } from "../lib/drafts";
import { useSettings } from "../lib/settings";
import { Composer } from "./Composer";
import { useConversations } from "./ConversationsContext";
import { MessageItem } from "./MessageItem";
import { ModelPicker, useModels } from "./ModelPicker";
import { SystemPromptButton } from "./SystemPromptDialog";
import { pathTo } from "./tree";
import { useChat } from "./useChat";

/** The pinned-to-bottom behaviour of the message list. */
function usePinnedScroll(dependency: unknown) {
  const box = useRef<HTMLDivElement>(null);
  const [pinned, setPinned] = useState(true);
  const onScroll = useCallback(() => {
    const el = box.current;
    if (el) setPinned(el.scrollHeight - el.scrollTop - el.clientHeight < 80);
  }, []);
  useLayoutEffect(() => {
    if (pinned && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [dependency, pinned]);
  const jump = useCallback(() => {
    box.current?.scrollTo({ top: box.current.scrollHeight, behavior: "smooth" });
    setPinned(true);
  }, []);
  return { box, pinned, onScroll, jump };
}

export function NewChatView() {
  const navigate = useNavigate();
  const settings = useSettings();
  const models = useModels();
  const [model, setModel] = useState<string | null>(null);
  const chosen = model ?? settings?.defaultModel ?? models[0]?.id ?? null;

  async function start(text: string) {
    try {
      const c = await json<Conversation>("POST", "/api/conversations", { model: chosen });
      saveDraft("new", "");
      navigate(`/c/${c.id}`, { state: { send: text, model: chosen } });
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  return (
    <>
      <header className="flex items-center gap-2 px-3 py-2">
        <SidebarButton />
        <ModelPicker value={chosen} onChange={setModel} />
      </header>
      <div className="flex flex-1 flex-col items-center justify-center px-4">
        <h1 className="mb-6 text-2xl font-semibold">What can I help with?</h1>
      </div>
      <Composer draftKey="new" streaming={false} onSend={start} onStop={() => undefined} />
    </>
  );
}

export function ChatView() {
  const { id } = useParams() as { id: string };
  const location = useLocation();
  const navigate = useNavigate();
  const { conversation, loadError, streaming, send, regenerate, stop, switchTo, setModel, setSystemPrompt } = useChat(id);
  const { touch } = useConversations();
  const path = useMemo(() => (conversation ? pathTo(conversation.messages, conversation.currentLeafId) : []), [conversation]);
  const lastText = path.length > 0 ? path[path.length - 1].message.content.length : 0;
  const { box, pinned, onScroll, jump } = usePinnedScroll(`${path.length}:${lastText}`);
  const pending = useRef<{ send: string; model: string | null } | null>((location.state as { send: string; model: string | null } | null) ?? null);
  const [startError, setStartError] = useState<{ text: string; error?: string } | null>(null);

  // A new chat arrives with its first message to send.
  useEffect(() => {
    const first = pending.current;
    if (!conversation || !first) return;
    pending.current = null;
    navigate(location.pathname, { replace: true, state: null });
    void send(first.send, first.model).then((r) => !r.ok && setStartError({ text: first.send, error: r.error }));
  }, [conversation, send, navigate, location.pathname]);

  useEffect(() => {
    if (conversation) touch({ id: conversation.id, title: conversation.title, model: conversation.model, createdAt: conversation.createdAt, updatedAt: conversation.updatedAt });
    // Only when another conversation opens: the list order follows use, not viewing.
  }, [conversation?.id]);

  if (loadError) {
    return (
      <div className="p-6">
        <SidebarButton />
        <p role="alert" className="mt-4">{loadError.status === 404 ? "This conversation does not exist, or is not yours." : loadError.message}</p>
      </div>
    );
  }

  const model = conversation?.model ?? null;
  const busy = streaming !== null;
  return (
    <>
      <header className="flex items-center gap-2 px-3 py-2">
        <SidebarButton />
        <ModelPicker value={model} onChange={(m) => void setModel(m)} />
        <h1 className="ml-2 min-w-0 flex-1 truncate text-sm text-zinc-500">{conversation?.title}</h1>
        {conversation && <SystemPromptButton value={conversation.systemPrompt} onSave={setSystemPrompt} />}
      </header>
      <div ref={box} onScroll={onScroll} className="relative flex-1 overflow-y-auto" aria-live="polite" aria-busy={busy}>
        {!conversation && <p className="p-6 text-sm text-zinc-500" role="status">Loading…</p>}
        {path.map((item) => (
          <MessageItem
            key={item.message.id}
            item={item}
            streaming={streaming === item.message.id}
            busy={busy}
            onEdit={(m, text) => void send(text, model, m.parentId)}
            onRegenerate={(m) => void regenerate(m, model)}
            onSwitch={(s) => void switchTo(s)}
          />
        ))}
        <div className="h-4" />
      </div>
      {!pinned && (
        <button
          type="button"
          onClick={jump}
          className="absolute bottom-28 left-1/2 z-10 -translate-x-1/2 rounded-full border border-zinc-300 bg-white p-2 shadow dark:border-zinc-700 dark:bg-zinc-800"
          aria-label="Jump to bottom"
        >
          <ArrowDown />
        </button>
      )}
      <Composer
        draftKey={id}
        streaming={busy}
        initial={startError?.text}
        onSend={(text) => send(text, model)}
        onStop={() => void stop()}
      />
      {startError?.error && <p role="alert" className="mx-auto -mt-2 mb-2 max-w-3xl px-4 text-sm text-red-600">{startError.error}</p>}
    </>
  );
}
