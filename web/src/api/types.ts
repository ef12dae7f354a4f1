// The shapes of Parley's /api (see README: "The app API").

export interface User {
  id: string;
  username: string;
  isAdmin: boolean;
  isDisabled: boolean;
  createdAt: string;
}

export interface AuthStatus {
  signedIn: boolean;
  needsSetup: boolean;
  registrationOpen: boolean;
}

export interface ConversationSummary {
  id: string;
  title: string;
  model: string | null;
  createdAt: string;
  updatedAt: string;
}

export type MessageStatus = "complete" | "streaming" | "stopped" | "interrupted" | "failed";

export interface Message {
  id: string;
  parentId: string | null;
  role: "user" | "assistant";
  content: string;
  model: string | null;
  status: MessageStatus;
  error: string | null;
  promptTokens: number;
  completionTokens: number;
  createdAt: string;
  updatedAt: string;
}

export interface Conversation extends ConversationSummary {
  systemPrompt: string | null;
  currentLeafId: string | null;
  messages: Message[];
}

export interface ConversationPage {
  items: ConversationSummary[];
  hasMore: boolean;
  nextOffset: number | null;
}

export interface Settings {
  defaultModel: string | null;
  systemPrompt: string | null;
  temperature: number | null;
  theme: "light" | "dark" | "system";
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  key?: string;
}

export interface UsageRow {
  day: string;
  userId: string;
  username: string | null;
  promptTokens: number;
  completionTokens: number;
  requests: number;
}

export interface Model {
  id: string;
  object: "model";
  owned_by: string;
}

/** One server-sent event of an answer. */
export type AnswerEvent =
  | { type: "start"; conversation: ConversationSummary; userMessage: Message; assistantMessage: Message }
  | { type: "delta"; messageId: string; text: string }
  | { type: "end"; message: Message }
  | { error: { message: string; code?: string } };
