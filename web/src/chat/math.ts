// Models write LaTeX as \( … \) and \[ … \] as often as with dollars; remark-math reads only dollars.
// Outside code, \( … \) becomes $…$ and \[ … \] a $$ block on its own lines.
export function normalizeMath(markdown: string): string {
  return markdown
    .split(/(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g)
    .map((part, i) =>
      i % 2 === 1
        ? part // code: left alone
        : part
            .replace(/\\\[([\s\S]+?)\\\]/g, (_, body: string) => `\n$$\n${body.trim()}\n$$\n`)
            .replace(/\\\(([\s\S]+?)\\\)/g, (_, body: string) => `$${body.trim()}$`),
    )
    .join("");
}
