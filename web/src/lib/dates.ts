// The sidebar's groups: Today, Yesterday, Previous 7 days, Previous 30 days, then by month.
export function groupOf(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const day = 24 * 60 * 60 * 1000;
  const t = date.getTime();
  if (t >= startOfToday) return "Today";
  if (t >= startOfToday - day) return "Yesterday";
  if (t >= startOfToday - 7 * day) return "Previous 7 days";
  if (t >= startOfToday - 30 * day) return "Previous 30 days";
  return date.toLocaleDateString(undefined, { year: "numeric", month: "long" });
}

/** Items in their groups, keeping the order they came in (newest first). */
export function grouped<T>(items: T[], dateOf: (item: T) => string, now = new Date()): { group: string; items: T[] }[] {
  const groups: { group: string; items: T[] }[] = [];
  for (const item of items) {
    const group = groupOf(dateOf(item), now);
    if (groups.length === 0 || groups[groups.length - 1].group !== group) groups.push({ group, items: [] });
    groups[groups.length - 1].items.push(item);
  }
  return groups;
}
