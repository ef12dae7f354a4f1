// Talks to Parley's /api: JSON in and out, the CSRF token on every change, errors as ApiError.
import type { AnswerEvent } from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public code?: string,
    public retryAfter?: number,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** Called when a request finds the session gone (401), so the app can send the user to sign in. */
export function setUnauthorizedHandler(handler: (() => void) | null) {
  onUnauthorized = handler;
}

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

async function ensureCsrf(): Promise<string> {
  if (csrfToken) return csrfToken;
  const response = await fetch("/api/auth/csrf", { credentials: "same-origin" });
  csrfToken = ((await response.json()) as { token: string }).token;
  return csrfToken;
}

async function toError(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  let code: string | undefined;
  try {
    const body = await response.json();
    message = body?.error?.message ?? message;
    code = body?.error?.code;
  } catch {
    // Not JSON: keep the status line.
  }
  const retry = Number(response.headers.get("Retry-After"));
  return new ApiError(response.status, message, code, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

/** Sends a request; a change carries X-CSRF-Token, and a stale token is fetched again once. */
export async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const change = method !== "GET" && method !== "HEAD";
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (change) headers["X-CSRF-Token"] = await ensureCsrf();
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
    if (response.ok) return response;
    const error = await toError(response);
    if (error.code === "csrf_failed" && attempt === 0) {
      csrfToken = null;
      continue;
    }
    if (error.status === 401 && !path.startsWith("/api/auth/")) onUnauthorized?.();
    throw error;
  }
}

export async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(method, path, body);
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

export const get = <T>(path: string) => json<T>("GET", path);

/** Reads an answer's server-sent events as they arrive. */
export async function* events(response: Response): AsyncGenerator<AnswerEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) {
        if (line.startsWith("data: ")) yield JSON.parse(line.slice(6)) as AnswerEvent;
      }
    }
  }
}
