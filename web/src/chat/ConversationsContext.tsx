// The sidebar's list of conversations, shared so that a chat can put itself on top or rename itself.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { get, json } from "../api/client";
import type { ConversationPage, ConversationSummary } from "../api/types";

interface ConversationsState {
  items: ConversationSummary[];
  query: string;
  setQuery(q: string): void;
  hasMore: boolean;
  loadMore(): Promise<void>;
  /** Adds or updates one, moving it to the top (it was just used). */
  touch(c: ConversationSummary): void;
  rename(id: string, title: string): Promise<void>;
  remove(id: string): Promise<void>;
}

const Context = createContext<ConversationsState | null>(null);

export function useConversations(): ConversationsState {
  const state = useContext(Context);
  if (!state) throw new Error("useConversations outside ConversationsProvider");
  return state;
}

const pageSize = 50;

export function ConversationsProvider({ children }: { children: ReactNode }) {
  const [items, setItems] = useState<ConversationSummary[]>([]);
  const [query, setQuery] = useState("");
  const [next, setNext] = useState<number | null>(null);
  const latest = useRef(0);

  const load = useCallback(async (q: string, offset: number) => {
    const ticket = ++latest.current;
    const page = await get<ConversationPage>(`/api/conversations?limit=${pageSize}&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    if (ticket !== latest.current) return; // a newer search answered first
    setItems((old) => (offset === 0 ? page.items : [...old, ...page.items]));
    setNext(page.nextOffset);
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void load(query.trim(), 0).catch(() => undefined), query ? 250 : 0);
    return () => clearTimeout(timer);
  }, [query, load]);

  const touch = useCallback((c: ConversationSummary) => setItems((old) => [c, ...old.filter((o) => o.id !== c.id)]), []);

  const rename = useCallback(async (id: string, title: string) => {
    await json("PATCH", `/api/conversations/${id}`, { title });
    setItems((old) => old.map((c) => (c.id === id ? { ...c, title } : c)));
  }, []);

  const remove = useCallback(async (id: string) => {
    await json("DELETE", `/api/conversations/${id}`);
    setItems((old) => old.filter((c) => c.id !== id));
  }, []);

  const loadMore = useCallback(async () => {
    if (next !== null) await load(query.trim(), next);
  }, [next, query, load]);

  const value = useMemo(
    () => ({ items, query, setQuery, hasMore: next !== null, loadMore, touch, rename, remove }),
    [items, query, next, loadMore, touch, rename, remove],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
