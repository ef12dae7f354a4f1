// Markdown as ChatGPT shows it: GitHub tables and lists, highlighted code with a copy button, and
// LaTeX through KaTeX. Loaded on demand so that the first page stays small.
import "katex/dist/katex.min.css";
import { useState, type ReactNode } from "react";
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeKatex from "rehype-katex";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";
import { CheckIcon, CopyIcon } from "../components/Icons";
import "./highlight.css";
import { normalizeMath } from "./math";

function textOf(node: ReactNode): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  if (node && typeof node === "object" && "props" in node) return textOf((node.props as { children?: ReactNode }).children);
  return "";
}

function CodeBlock({ children }: { children?: ReactNode }) {
  const [copied, setCopied] = useState(false);
  const child = Array.isArray(children) ? children[0] : children;
  const className = (child && typeof child === "object" && "props" in child ? (child.props as { className?: string }).className : "") ?? "";
  const language = /language-(\S+)/.exec(className)?.[1] ?? "";
  return (
    <div className="my-3 overflow-hidden rounded-lg border border-zinc-200 dark:border-zinc-700">
      <div className="flex items-center justify-between bg-zinc-100 px-3 py-1 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400">
        <span>{language || "code"}</span>
        <button
          type="button"
          className="flex items-center gap-1 rounded px-1 hover:text-zinc-900 dark:hover:text-zinc-100"
          onClick={() => {
            void navigator.clipboard?.writeText(textOf(children).replace(/\n$/, ""));
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          }}
        >
          {copied ? <CheckIcon /> : <CopyIcon />} {copied ? "Copied" : "Copy code"}
        </button>
      </div>
      <pre className="overflow-x-auto bg-zinc-50 p-3 text-sm dark:bg-zinc-900">{children}</pre>
    </div>
  );
}

export default function Markdown({ text }: { text: string }) {
  return (
    <div className="prose-chat break-words">
      <ReactMarkdown
        remarkPlugins={[remarkGfm, remarkMath]}
        rehypePlugins={[[rehypeHighlight, { detect: false, ignoreMissing: true }], rehypeKatex]}
        components={{ pre: CodeBlock, a: (props) => <a {...props} target="_blank" rel="noreferrer noopener" /> }}
      >
        {normalizeMath(text)}
      </ReactMarkdown>
    </div>
  );
}
