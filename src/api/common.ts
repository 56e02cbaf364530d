// Pieces shared by the chat and legacy completions endpoints: parameter schemas with OpenAI's
// ranges, stream options, usage and the response constants.
import { randomBytes } from "node:crypto";
import { z } from "zod";

// ---- request parameters (all nullable: the SDKs and many clients send explicit nulls) ----

export const temperatureSchema = z.number().min(0).max(2).nullish();
export const topPSchema = z.number().min(0).max(1).nullish();
export const nSchema = z.int().min(1).max(128).nullish();
export const penaltySchema = z.number().min(-2).max(2).nullish();
/** int64 on the wire; JS safe integers are what the samplers can take anyway. */
export const seedSchema = z.int().nullish();
export const stopSchema = z.union([z.string(), z.array(z.string()).min(1).max(4)]).nullish();
/** Keys are token ids written as non-negative integers. */
export const logitBiasSchema = z.record(z.string().regex(/^\d+$/), z.number().min(-100).max(100)).nullish();
export const streamSchema = z.boolean().nullish();
// Nested option objects ignore unknown keys so a newer SDK's additions do not break requests.
export const streamOptionsSchema = z
  .object({
    include_usage: z.boolean().nullish(),
    include_obfuscation: z.boolean().nullish(),
  })
  .nullish();

export const STREAM_OPTIONS_WITHOUT_STREAM = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";

/** Refinement shared by both endpoints: stream_options only makes sense on a stream. */
export function checkStreamOptions(
  value: { stream?: boolean | null | undefined; stream_options?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (value.stream_options != null && value.stream !== true) {
    ctx.addIssue({
      code: "custom",
      message: STREAM_OPTIONS_WITHOUT_STREAM,
      path: ["stream_options"],
      params: { code: "invalid_value" },
    });
  }
}

/** The stop sequences as a list; empty strings dropped (they would stop before any output). */
export function normalizeStop(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === "string" ? [stop] : stop).filter((s) => s.length > 0);
}

/** Whether a streamed response ends with the `choices: []` usage chunk (and carries usage:null before). */
export function wantsStreamUsage(req: {
  stream?: boolean | null | undefined;
  stream_options?: { include_usage?: boolean | null | undefined } | null | undefined;
}): boolean {
  return req.stream === true && req.stream_options?.include_usage === true;
}

// ---- responses ----

/**
 * Sent on every response and chunk. The field is optional and deprecated upstream, but some
 * clients log or compare it; a constant is honest about what it identifies (this server).
 */
export const SYSTEM_FINGERPRINT = "fp_lavash";

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function toWireUsage(usage: TokenUsage): WireUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
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
