// Response pieces shared by the endpoints: the fingerprint, usage, timestamps and ids.
import { randomBytes } from "node:crypto";
import type { Usage } from "../../engine/types.js";

/**
 * Sent on every response and chunk. The field is optional and deprecated upstream, but some
 * clients log or compare it; a constant is honest about what it identifies (this server).
 */
export const SYSTEM_FINGERPRINT = "fp_lavash";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the KV cache of an earlier request. */
  cachedTokens?: number;
}

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function toWireUsage(usage: TokenUsage): WireUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    // OpenAI always sends the details object, and clients that track caching read it unguarded.
    prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
  };
}

export function unixSeconds(date: Date = new Date()): number {
  return Math.floor(date.getTime() / 1000);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** 29 random base62 characters, the length OpenAI's own ids have after the prefix. */
function randomId(length = 29): string {
  // 248 = 4 * 62: rejecting bytes >= 248 keeps every character equally likely.
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newChatCompletionId(): string {
  return `chatcmpl-${randomId()}`;
}

export function newCompletionId(): string {
  return `cmpl-${randomId()}`;
}

/** OpenAI's x-request-id form: `req_` + 32 hex digits. */
export function newRequestId(): string {
  return `req_${randomBytes(16).toString("hex")}`;
}

/** The engine's usage in the builders' terms. */
export function tokenUsage(usage: Usage): TokenUsage {
  return {
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    cachedTokens: usage.cachedPromptTokens,
  };
}
