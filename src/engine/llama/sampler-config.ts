// The engine's SamplingParams → llama.cpp sampler configurations, one per choice: no top-k unless
// asked, top_p 1 is "off", temperature 0 is greedy. The only check here needs the model (logit
// bias ids against the vocabulary); combinations of parameters are the endpoints' to refuse.
import { randomInt } from "node:crypto";
import type { Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { SamplingParams } from "../types.js";
import type { NativeSamplerConfig } from "./native.js";

export interface SamplerContext {
  promptTokens: readonly Token[];
  maxTokens: number;
  vocabularySize: number;
}

export function samplerConfigs(
  sampling: SamplingParams,
  choices: number,
  context: SamplerContext,
): NativeSamplerConfig[] {
  const base = baseConfig(sampling, context);
  const seed = sampling.seed === undefined ? randomInt(2 ** 32) : seedToUint32(sampling.seed);
  // Choice 0 keeps the request's seed, so n=1 and the first of n choices agree.
  return Array.from({ length: choices }, (_, j) => ({ ...base, seed: j === 0 ? seed : choiceSeed(seed, j) }));
}

function baseConfig(
  sampling: SamplingParams,
  { promptTokens, maxTokens, vocabularySize }: SamplerContext,
): NativeSamplerConfig {
  const config: NativeSamplerConfig = {};
  if (sampling.temperature > 0) {
    config.temperature = sampling.temperature;
    if (sampling.topP < 1) config.topP = sampling.topP;
    if (sampling.topK !== undefined && sampling.topK > 0) config.topK = sampling.topK;
    if (sampling.minP !== undefined && sampling.minP > 0) config.minP = sampling.minP;
  }

  const presence = sampling.presencePenalty ?? 0;
  const frequency = sampling.frequencyPenalty ?? 0;
  const repetition = sampling.repetitionPenalty ?? 1;
  // llama.cpp keeps one token history for all three penalties: presence and frequency count only
  // generated tokens, the repetition penalty counts the prompt too (SamplingParams says so).
  if (repetition !== 1 && (presence !== 0 || frequency !== 0))
    throw new Error("internal: SamplingParams.repetitionPenalty was combined with presence or frequency penalties");
  if (repetition !== 1) {
    config.repeatPenalty = repetition;
    config.repeatPenaltyTokens = Uint32Array.from(promptTokens);
    config.repeatPenaltyMaxTokens = promptTokens.length + maxTokens;
  } else if (presence !== 0 || frequency !== 0) {
    config.repeatPenalty = 1;
    config.repeatPenaltyPresencePenalty = presence;
    config.repeatPenaltyFrequencyPenalty = frequency;
    config.repeatPenaltyTokens = new Uint32Array(0);
    config.repeatPenaltyMaxTokens = Math.max(1, maxTokens);
  }

  const bias = sampling.logitBias ?? [];
  if (bias.length > 0) {
    for (const [token] of bias)
      if (!Number.isInteger(token) || token < 0 || token >= vocabularySize)
        throw new EngineError(
          "token_out_of_vocabulary",
          `token id ${token} in the logit bias is outside the vocabulary (0..${vocabularySize - 1})`,
          "sampling.logitBias",
          { reason: "token_out_of_vocabulary", token, vocabularySize },
        );
    config.tokenBiasKeys = Uint32Array.from(bias.map(([token]) => token));
    // OpenAI: "-100 should result in a ban". Adding -100 to a logit is only nearly a ban.
    config.tokenBiasValues = Float32Array.from(bias.map(([, value]) => (value <= -100 ? -Infinity : value)));
  }
  return config;
}

/**
 * Whether a request's output is fixed by the request (a seed, or greedy sampling), so it must not
 * depend on what the KV cache held (docs/reference.md, "Seeds"). Without a seed, a fresh random
 * seed draws the tokens, and nothing is promised across requests.
 */
export function isReproducible(sampling: Pick<SamplingParams, "seed" | "temperature">): boolean {
  return sampling.seed !== undefined || sampling.temperature === 0;
}

/** OpenAI seeds are int64; llama.cpp's RNG takes 32 bits. Fold the high half in. */
export function seedToUint32(seed: number): number {
  const big = BigInt.asUintN(64, BigInt(Math.trunc(seed)));
  return Number(BigInt.asUintN(32, big ^ (big >> 32n)));
}

/** A well-mixed seed for choice j, derived from the request's (so n choices are reproducible). */
export function choiceSeed(seed: number, j: number): number {
  let x = (seed + Math.imul(j, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
