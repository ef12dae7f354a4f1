// What someone typed survives a reload: drafts live in localStorage, one per conversation ("new" before it exists).
const prefix = "parley:draft:";

export function loadDraft(key: string): string {
  try {
    return localStorage.getItem(prefix + key) ?? "";
  } catch {
    return "";
  }
}

export function saveDraft(key: string, text: string) {
  try {
    if (text) localStorage.setItem(prefix + key, text);
    else localStorage.removeItem(prefix + key);
  } catch {
    // Storage full or disabled: the draft lives only in the page.
  }
}
