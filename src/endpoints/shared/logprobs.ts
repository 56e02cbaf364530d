// The two logprobs wire formats: chat's list of token entries and the legacy completions'
// parallel arrays. Inputs are structural: the engine's TokenLogprob fits them.
import type { PositionedTokenLogprob } from "../../engine/types.js";

/** A candidate token at one position. */
export interface LogprobAlternativeInput {
  text: string;
  bytes: number[];
  logprob: number;
}

/** A sampled (or echoed prompt) token, with the most likely alternatives at its position, best first. */
export interface LogprobInput extends LogprobAlternativeInput {
  top: LogprobAlternativeInput[];
}

export interface ChatTopLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
}

export interface ChatTokenLogprob extends ChatTopLogprob {
  top_logprobs: ChatTopLogprob[];
}

/** A chat choice's (or chunk's) `logprobs` object; lavash never produces refusals. */
export interface ChatChoiceLogprobs {
  content: ChatTokenLogprob[] | null;
  refusal: ChatTokenLogprob[] | null;
}

export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  /** Character offsets into the returned text (with echo, the prompt counts). */
  text_offset: number[];
}

/**
 * OpenAI's floor for tokens it cannot score. A logprob of -Infinity (a token the model rules out
 * entirely) must not reach JSON.stringify, which would write it as null.
 */
export const LOGPROB_FLOOR = -9999;

function finite(logprob: number): number {
  return Number.isFinite(logprob) ? logprob : LOGPROB_FLOOR;
}

/** Chat entries with exactly `topLogprobs` alternatives each (fewer only if the engine had fewer). */
export function chatLogprobEntries(tokens: readonly LogprobInput[], topLogprobs: number): ChatTokenLogprob[] {
  const k = Math.max(0, topLogprobs);
  return tokens.map((t) => ({
    token: t.text,
    logprob: finite(t.logprob),
    bytes: t.bytes,
    top_logprobs: t.top.slice(0, k).map((a) => ({ token: a.text, logprob: finite(a.logprob), bytes: a.bytes })),
  }));
}

/** The `logprobs` value of a chat choice: null when the client did not ask for logprobs. */
export function chatChoiceLogprobs(entries: ChatTokenLogprob[] | null | undefined): ChatChoiceLogprobs | null {
  return entries == null ? null : { content: entries, refusal: null };
}

export interface LegacyLogprobsOptions {
  /**
   * echo: the first prompt token has no context to be scored in, so OpenAI gives it a null
   * logprob and a null alternatives entry.
   */
  firstIsNull?: boolean;
}

/**
 * Legacy logprobs. Each top_logprobs dict holds the k best alternatives plus the sampled token
 * (OpenAI's "up to logprobs+1" entries), so logprobs: 0 still shows the sampled token.
 */
export function legacyLogprobs(
  tokens: readonly (LogprobInput & { offset: number })[],
  k: number,
  options: LegacyLogprobsOptions = {},
): LegacyLogprobs {
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  const count = Math.max(0, k);
  tokens.forEach((t, i) => {
    out.tokens.push(t.text);
    out.text_offset.push(t.offset);
    if (i === 0 && options.firstIsNull === true) {
      out.token_logprobs.push(null);
      out.top_logprobs.push(null);
      return;
    }
    out.token_logprobs.push(finite(t.logprob));
    const dict: Record<string, number> = {};
    for (const a of t.top.slice(0, count)) setOnce(dict, a.text, finite(a.logprob));
    setOnce(dict, t.text, finite(t.logprob));
    out.top_logprobs.push(dict);
  });
  return out;
}

/**
 * Keeps the first value for a key: distinct tokens can render to the same string (some
 * vocabularies hold duplicates), and the alternatives come best first.
 */
function setOnce(dict: Record<string, number>, key: string, value: number): void {
  if (Object.hasOwn(dict, key)) return;
  // Plain assignment of "__proto__" would replace the prototype instead of adding a key.
  if (key === "__proto__")
    Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
  else dict[key] = value;
}

/** echo: the prompt's logprobs followed by the completion's; offsets are already absolute. */
export function concatLegacyLogprobs(a: LegacyLogprobs, b: LegacyLogprobs): LegacyLogprobs {
  return {
    tokens: [...a.tokens, ...b.tokens],
    token_logprobs: [...a.token_logprobs, ...b.token_logprobs],
    top_logprobs: [...a.top_logprobs, ...b.top_logprobs],
    text_offset: [...a.text_offset, ...b.text_offset],
  };
}

/** vLLM's return_tokens_as_token_ids: tokens written as `token_id:<id>`. */
export function tokenNames(logprobs: PositionedTokenLogprob[], asIds: boolean): PositionedTokenLogprob[] {
  if (!asIds) return logprobs;
  return logprobs.map((t) => ({
    ...t,
    text: `token_id:${t.token}`,
    top: t.top.map((a) => ({ ...a, text: `token_id:${a.token}` })),
  }));
}
