// One conversation's state on screen: loading it, sending, streaming answers in, stopping,
// regenerating, editing and switching branches. Answers keep streaming on the server when this
// page goes away; coming back watches them again.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, events, get, json, request } from "../api/client";
import type { Conversation, Message } from "../api/types";
import { useConversations } from "./ConversationsContext";
import { newestLeafUnder } from "./tree";

export interface SendResult {
  ok: boolean;
  error?: string;
}

function placeholder(id: string, parentId: string | null, role: Message["role"], content: string, model: string | null): Message {
  const now = new Date().toISOString();
  return { id, parentId, role, content, model, status: role === "assistant" ? "streaming" : "complete", error: null, promptTokens: 0, completionTokens: 0, createdAt: now, updatedAt: now };
}

export function useChat(id: string) {
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [streaming, setStreaming] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const { touch } = useConversations();

  const update = useCallback((change: (c: Conversation) => Conversation) => setConversation((c) => (c ? change(c) : c)), []);
  const upsert = useCallback(
    (message: Message, replacing?: string) =>
      update((c) => ({
        ...c,
        messages: [...c.messages.filter((m) => m.id !== message.id && m.id !== replacing), message],
        currentLeafId: c.currentLeafId === replacing ? message.id : c.currentLeafId,
      })),
    [update],
  );

  /** Reads an answer's events into the conversation; returns an error message if the answer could not start. */
  const consume = useCallback(
    async (response: Response, temp?: { user?: string; assistant: string }): Promise<string | undefined> => {
      let assistant = temp?.assistant ?? null;
      try {
        for await (const e of events(response)) {
          if ("error" in e) throw new Error(e.error.message);
          if (e.type === "start") {
            if (temp?.user) upsert(e.userMessage, temp.user);
            upsert(e.assistantMessage, temp?.assistant);
            assistant = e.assistantMessage.id;
            setStreaming(assistant);
            update((c) => ({ ...c, currentLeafId: e.assistantMessage.id, title: e.conversation.title, model: e.conversation.model }));
            touch(e.conversation);
          } else if (e.type === "delta") {
            update((c) => ({ ...c, messages: c.messages.map((m) => (m.id === e.messageId ? { ...m, content: m.content + e.text } : m)) }));
          } else if (e.type === "end") {
            upsert(e.message);
          }
        }
        return undefined;
      } catch (err) {
        if ((err as Error).name === "AbortError") return undefined;
        return (err as Error).message;
      } finally {
        setStreaming((s) => (s === assistant ? null : s));
      }
    },
    [touch, update, upsert],
  );

  /** Follows an answer that is still being written (after a reload, or from another tab). */
  const watch = useCallback(
    async (messageId: string) => {
      abort.current?.abort();
      const controller = (abort.current = new AbortController());
      setStreaming(messageId);
      update((c) => ({ ...c, messages: c.messages.map((m) => (m.id === messageId ? { ...m, content: "" } : m)) }));
      try {
        await consume(await request("GET", `/api/messages/${messageId}/events`, undefined, controller.signal));
      } catch {
        setStreaming(null);
      }
    },
    [consume, update],
  );

  useEffect(() => {
    let cancelled = false;
    setConversation(null);
    setLoadError(null);
    get<Conversation>(`/api/conversations/${id}`).then(
      (c) => {
        if (cancelled) return;
        setConversation(c);
        const live = c.messages.find((m) => m.status === "streaming");
        if (live) void watch(live.id);
      },
      (err) => !cancelled && setLoadError(err as ApiError),
    );
    return () => {
      cancelled = true;
      abort.current?.abort(); // the answer goes on on the server
    };
  }, [id, watch]);

  /** Posts a request that streams an answer; the placeholders show at once and are replaced by the saved messages. */
  const stream = useCallback(
    async (path: string, body: unknown, temp: { user?: Message; assistant: Message }): Promise<SendResult> => {
      if (temp.user) upsert(temp.user);
      upsert(temp.assistant);
      update((c) => ({ ...c, currentLeafId: temp.assistant.id }));
      setStreaming(temp.assistant.id);
      const controller = (abort.current = new AbortController());
      let response: Response;
      try {
        response = await request("POST", path, body, controller.signal);
      } catch (err) {
        // Nothing was saved: take the placeholders back (the caller keeps the text).
        setStreaming(null);
        setConversation((c) => c && { ...c, messages: c.messages.filter((m) => m.id !== temp.user?.id && m.id !== temp.assistant.id), currentLeafId: temp.user?.parentId ?? temp.assistant.parentId });
        const message = err instanceof ApiError ? err.message : "Parley cannot be reached. Check your connection and try again.";
        return { ok: false, error: message };
      }
      const failure = await consume(response, { user: temp.user?.id, assistant: temp.assistant.id });
      return failure ? { ok: true, error: failure } : { ok: true };
    },
    [consume, update, upsert],
  );

  const send = useCallback(
    (content: string, model: string | null, parentId?: string | null) => {
      const parent = parentId === undefined ? (conversation?.currentLeafId ?? null) : parentId;
      const user = placeholder(`pending-user-${Date.now()}`, parent, "user", content, null);
      const assistant = placeholder(`pending-answer-${Date.now()}`, user.id, "assistant", "", model);
      const body: Record<string, unknown> = { content, model };
      if (parentId !== undefined) body.parentId = parentId;
      return stream(`/api/conversations/${id}/messages`, body, { user, assistant });
    },
    [conversation?.currentLeafId, id, stream],
  );

  const regenerate = useCallback(
    (answer: Message, model: string | null) => {
      const placeholderAnswer = placeholder(`pending-answer-${Date.now()}`, answer.parentId, "assistant", "", model ?? answer.model);
      return stream(`/api/messages/${answer.id}/regenerate`, model ? { model } : {}, { assistant: placeholderAnswer });
    },
    [stream],
  );

  const stop = useCallback(async () => {
    await json("POST", `/api/conversations/${id}/stop`);
  }, [id]);

  const switchTo = useCallback(
    async (sibling: Message) => {
      if (!conversation) return;
      const leaf = newestLeafUnder(conversation.messages, sibling.id);
      update((c) => ({ ...c, currentLeafId: leaf }));
      await json("PATCH", `/api/conversations/${id}`, { currentLeafId: leaf });
    },
    [conversation, id, update],
  );

  const setModel = useCallback(
    async (model: string) => {
      update((c) => ({ ...c, model }));
      await json("PATCH", `/api/conversations/${id}`, { model });
    },
    [id, update],
  );

  const setSystemPrompt = useCallback(
    async (systemPrompt: string | null) => {
      await json("PATCH", `/api/conversations/${id}`, { systemPrompt });
      update((c) => ({ ...c, systemPrompt }));
    },
    [id, update],
  );

  return { conversation, loadError, streaming, send, regenerate, stop, switchTo, setModel, setSystemPrompt };
}
