// The sampling fields chat and legacy completions share, mapped onto the engine's SamplingParams
// once, with the cross-field rules between them (each endpoint's mapping.ts calls samplingParams).
import type { SamplingParams } from "../../engine/types.js";
import { invalidRequest } from "./errors.js";

/** The sampling fields both request schemas have (null/undefined: not given). */
export interface SamplingFields extends SamplingExtensionFields {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  seed?: number | null | undefined;
}

export interface SamplingExtensionFields {
  top_k?: number | null | undefined;
  min_p?: number | null | undefined;
  repetition_penalty?: number | null | undefined;
  presence_penalty?: number | null | undefined;
  frequency_penalty?: number | null | undefined;
  logit_bias?: Readonly<Record<string, number>> | null | undefined;
}

/** The sampling controls beyond temperature/top_p, normalised so that "absent" always means "off". */
export type SamplingExtensions = Required<Pick<SamplingParams, "presencePenalty" | "frequencyPenalty">> &
  Pick<SamplingParams, "topK" | "minP" | "repetitionPenalty"> & {
    /** [token id, bias]; ids are not checked against the vocabulary here (the engine does). */
    logitBias: [number, number][];
  };

/** top_k, min_p, repetition_penalty, the penalties and logit_bias in the engine's names. */
export function samplingExtensions(req: SamplingExtensionFields): SamplingExtensions {
  const out: SamplingExtensions = {
    presencePenalty: req.presence_penalty ?? 0,
    frequencyPenalty: req.frequency_penalty ?? 0,
    logitBias: Object.entries(req.logit_bias ?? {}).map(([id, bias]) => [Number(id), bias]),
  };
  // The no-op values are dropped so that the engine can skip building those sampler stages.
  if (req.top_k != null && req.top_k > 0) out.topK = req.top_k;
  if (req.min_p != null && req.min_p > 0) out.minP = req.min_p;
  if (req.repetition_penalty != null && req.repetition_penalty !== 1) out.repetitionPenalty = req.repetition_penalty;
  return out;
}

export const PENALTIES_COMBINED =
  "repetition_penalty cannot be combined with presence_penalty or frequency_penalty: use one kind of penalty per request.";

/** OpenAI's defaults: temperature 1, top_p 1; no seed means a fresh random one. */
export function samplingParams(body: SamplingFields): SamplingParams {
  const params: SamplingParams = {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    seed: body.seed ?? undefined,
    ...samplingExtensions(body),
  };
  // llama.cpp keeps one token history for all three penalties: presence and frequency count only
  // generated tokens, repetition_penalty counts the prompt too. Both at once cannot be honoured.
  if (params.repetitionPenalty !== undefined && (params.presencePenalty !== 0 || params.frequencyPenalty !== 0))
    throw invalidRequest(PENALTIES_COMBINED, "repetition_penalty", "invalid_value");
  return params;
}
