// Shows a message's text: plain at once, then rendered as Markdown when that module has loaded.
import { lazy, Suspense } from "react";

const Markdown = lazy(() => import("./Markdown"));

export function MessageContent({ text, markdown }: { text: string; markdown: boolean }) {
  const plain = <div className="whitespace-pre-wrap break-words">{text}</div>;
  if (!markdown) return plain;
  return (
    <Suspense fallback={plain}>
      <Markdown text={text} />
    </Suspense>
  );
}
