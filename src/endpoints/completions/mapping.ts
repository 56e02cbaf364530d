// POST /v1/completions (legacy), wire → engine: every rename of a request field into the engine's
// GenerateRequest (one per prompt), and every refusal that needs two fields at once.
//
// Refusals, by field: prompt (an empty list), n/best_of (checkChoiceCount), suffix with token
// prompts (here), repetition_penalty with presence/frequency_penalty (samplingParams), `its` with
// what it cannot combine with (itsPlan, plus several prompts), and from the engine: token ids and
// logit_bias ids outside the vocabulary, a prompt beyond the context, a suffix without FIM tokens
// (COMPLETION_ERROR_NAMES).
import type { EngineField } from "../../engine/errors.js";
import type { EngineErrorNames } from "../shared/engine-errors.js";
import { invalidRequest } from "../shared/errors.js";
import { type ItsServerLimits, itsPlan } from "../shared/its/plan.js";
import { bestOfCount, checkChoiceCount, normalizeStop } from "../shared/request-fields.js";
import type { RunPlan } from "../shared/respond.js";
import { samplingParams } from "../shared/sampling-mapping.js";
import { type CompletionRequest, DEFAULT_COMPLETION_MAX_TOKENS } from "./schema.js";

export interface CompletionGeneration {
  plan: RunPlan;
  /** Alternatives per token in the logprobs (0: the sampled token only), or null when off. */
  topLogprobs: number | null;
}

export function completionGeneration(body: CompletionRequest, limits: ItsServerLimits): CompletionGeneration {
  const prompts = promptInputs(body.prompt);
  if (prompts.length === 0) throw invalidRequest("'prompt' must not be an empty array.", "prompt", "empty_array");
  checkChoiceCount(prompts.length, body);
  if (body.suffix != null && prompts.some((p) => p.kind !== "text"))
    throw invalidRequest("'suffix' needs text prompts: fill-in-the-middle is built from the prompt's text.", "suffix");
  const topLogprobs = completionTopLogprobs(body);
  const echo = body.echo === true;
  const its = body.its ? itsPlan(body.its, body, limits, [[prompts.length > 1, "prompt"]]) : undefined;
  const sampling = samplingParams(body);
  return {
    plan: {
      model: body.model,
      requests: prompts.map((p) => ({
        model: body.model,
        prompt:
          p.kind === "text"
            ? { kind: "text" as const, text: p.text, ...(body.suffix != null ? { suffix: body.suffix } : {}) }
            : p,
        maxTokens: completionMaxTokens(body),
        stop: normalizeStop(body.stop),
        sampling,
        logprobs: topLogprobs ?? undefined,
        echo,
      })),
      n: its ? its.choices : (body.n ?? 1),
      bestOf: bestOfCount(body),
      stream: body.stream === true,
      ...(its ? { its } : {}),
      errorNames: COMPLETION_ERROR_NAMES,
    },
    topLogprobs,
  };
}

/** The engine's fields under the names a legacy completion request gave them. */
export const COMPLETION_ERROR_NAMES: EngineErrorNames = {
  param(field: EngineField): string | null {
    switch (field) {
      case "prompt":
      case "prompt.tokens":
        return "prompt";
      case "prompt.suffix":
        return "suffix";
      case "sampling.logitBias":
        return "logit_bias";
      case "model":
        return "model";
      default:
        return null;
    }
  },
};

export function completionMaxTokens(req: Pick<CompletionRequest, "max_tokens">): number {
  return req.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS;
}

/** Alternatives per token (0: the sampled token only), or null when logprobs are off. */
export function completionTopLogprobs(req: Pick<CompletionRequest, "logprobs">): number | null {
  return req.logprobs ?? null;
}

/** One prompt of a legacy request; each yields n choices (index = prompt_index * n + j). */
export type PromptInputItem = { kind: "text"; text: string } | { kind: "tokens"; tokens: number[] };

/** The legacy prompt forms as a list of prompts: string, string[], token ids, lists of token ids. */
export function promptInputs(prompt: CompletionRequest["prompt"]): PromptInputItem[] {
  if (typeof prompt === "string") return [{ kind: "text", text: prompt }];
  if (prompt.length === 0) return [];
  if (typeof prompt[0] === "string") return (prompt as string[]).map((text) => ({ kind: "text", text }));
  if (typeof prompt[0] === "number") return [{ kind: "tokens", tokens: prompt as number[] }];
  return (prompt as number[][]).map((tokens) => ({ kind: "tokens", tokens }));
}
