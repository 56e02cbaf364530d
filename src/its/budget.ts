// The most tokens a scaling request can make the model evaluate, known before it runs: the
// server refuses requests above its per-request cap instead of finding out halfway. Counted: the
// prompt once, every sampled token (proposals included) and the one token each extension
// evaluates again; not counted: re-evaluations when other requests evicted a chain's KV state.
import type { ItsSpec, PowerSamplingSpec } from "./types.js";

/** Worst case for `spec` with answers of at most `maxTokens` tokens after a `promptTokens` prompt. */
export function worstCaseTokens(spec: ItsSpec, promptTokens: number, maxTokens: number, n = 1): number {
  switch (spec.method) {
    case "power_sampling":
      return promptTokens + n * powerRun(spec.power, maxTokens);
    case "best_of_n":
      return promptTokens + spec.n * (spec.power ? powerRun(spec.power, maxTokens) : maxTokens + 1);
    case "smc": {
      const steps = Math.ceil(maxTokens / spec.tokensPerStep);
      const k = spec.tokensPerStep;
      const power = spec.power;
      const step = power ? powerRun({ ...power, blockSize: Math.min(power.blockSize, k) }, k) : k + 1;
      return promptTokens + spec.particles * steps * step;
    }
  }
}

/** One power-sampling run of `length` tokens: each block's extension, then its MH proposals. */
function powerRun({ blockSize, mcmcSteps }: PowerSamplingSpec, length: number): number {
  let total = 0;
  for (let end = 0; end < length; ) {
    const next = Math.min(end + blockSize, length);
    total += next - end + 1 + mcmcSteps * (next + 1);
    end = next;
  }
  return total;
}
