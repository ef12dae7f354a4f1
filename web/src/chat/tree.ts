// A conversation is a tree of messages; the screen shows one path, from the root to the current leaf.
import type { Message } from "../api/types";

export interface PathItem {
  message: Message;
  /** The message and its alternatives (edits or regenerations), oldest first. */
  siblings: Message[];
  index: number;
}

const byAge = (a: Message, b: Message) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

export function childrenOf(messages: Message[], parentId: string | null): Message[] {
  return messages.filter((m) => m.parentId === parentId).sort(byAge);
}

/** The path from the root to leafId (or to the newest leaf when leafId is missing), with each step's siblings. */
export function pathTo(messages: Message[], leafId: string | null): PathItem[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  let leaf = leafId ? byId.get(leafId) : undefined;
  if (!leaf) {
    const roots = childrenOf(messages, null);
    if (roots.length === 0) return [];
    leaf = byId.get(newestLeafUnder(messages, roots[roots.length - 1].id))!;
  }
  const path: PathItem[] = [];
  for (let m: Message | undefined = leaf; m && path.length <= messages.length; m = m.parentId ? byId.get(m.parentId) : undefined) {
    const siblings = childrenOf(messages, m.parentId);
    path.push({ message: m, siblings, index: siblings.findIndex((s) => s.id === m!.id) });
  }
  return path.reverse();
}

/** Following the newest child at each step: where a branch leads when it is switched to. */
export function newestLeafUnder(messages: Message[], id: string): string {
  for (let current = id, steps = 0; steps <= messages.length; steps++) {
    const children = childrenOf(messages, current);
    if (children.length === 0) return current;
    current = children[children.length - 1].id;
  }
  return id;
}
