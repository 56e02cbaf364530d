// Request fields that chat and legacy completions share, mapped onto engine types once.
import { samplingExtensions, type SamplingExtensionFields } from "../api/common.js";
import type { PositionedTokenLogprob, SamplingParams, Usage } from "../engine/types.js";

export interface SamplingFields extends SamplingExtensionFields {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  seed?: number | null | undefined;
}

/** OpenAI's defaults: temperature 1, top_p 1; no seed means a fresh random one. */
export function samplingParams(body: SamplingFields): SamplingParams {
  return { temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined, ...samplingExtensions(body) };
}

/** vLLM's return_tokens_as_token_ids: tokens written as `token_id:<id>`. */
export function tokenNames(logprobs: PositionedTokenLogprob[], asIds: boolean): PositionedTokenLogprob[] {
  if (!asIds) return logprobs;
  return logprobs.map((t) => ({ ...t, text: `token_id:${t.token}`, top: t.top.map((a) => ({ ...a, text: `token_id:${a.token}` })) }));
}

export function tokenUsage(usage: Usage): { promptTokens: number; completionTokens: number; cachedTokens: number } {
  return { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cachedTokens: usage.cachedPromptTokens };
}
