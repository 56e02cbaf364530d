// Samples a chain's next token and scores it for inference-time scaling, in one place because
// the numbers come from two samplers over the same logits:
// - the chain's own sampler (logit_bias, then temperature T, then the draw) reports the drawn
//   token and Σ exp(z/T − max(z/T)), the proposal's normalizer up to its max;
// - a greedy sampler with the same logit_bias and nothing else reports the argmax logit (the max
//   of z, so max(z/T) = max(z)/T), the drawn token's logit and Σ exp(z − max): ln p at T = 1.
// The entropy of p needs every logit: one more pass that copies the vocabulary out (~45 ms for
// 152k tokens on 2 cores), done only when a metric needs it.
import type { Llama, LlamaModel } from "node-llama-cpp";
import type { ScoredStep } from "../types.js";
import {
  createNativeSampler,
  type BatchLogitIndex,
  type NativeContext,
  type NativeSampler,
  type NativeSamplerConfig,
} from "./native.js";
import type { StepScoring } from "./sequence.js";
import { logitPairs } from "./token-scorer.js";

export class StepScorer implements StepScoring {
  private readonly base: NativeSampler;

  constructor(
    llama: Llama,
    private readonly model: LlamaModel,
    private readonly native: NativeContext,
    /** The chain's logit_bias (keys and values as the proposal sampler has them). */
    bias: Pick<NativeSamplerConfig, "tokenBiasKeys" | "tokenBiasValues">,
    private readonly temperature: number,
    private readonly withEntropy: boolean,
  ) {
    this.base = createNativeSampler(llama, model, bias);
  }

  async score(index: BatchLogitIndex, sampler: NativeSampler): Promise<ScoredStep | null> {
    const [token, , , , proposalWeight] = await this.native.sampleToken(index, sampler, false, false, false, true);
    if (token === -1) return null;
    const [argmax, , , logits, weight] = await this.native.sampleToken(
      index,
      this.base,
      false,
      false,
      [[token], false, false, true, 0],
      true,
    );
    const base = logitPairs(logits ?? []);
    const max = base.get(argmax as number);
    const own = base.get(token);
    if (max === undefined || own === undefined || weight === undefined || proposalWeight === undefined)
      throw new Error("llama.cpp returned no logits to score with");
    // llama.cpp divides float logits by a float temperature (z/T, rounded to float): so do these.
    const t = Math.fround(this.temperature);
    const proposalLogit = Math.fround(own / t);
    const logNormalizer = Math.fround(max / t) + Math.log(proposalWeight);
    return {
      token,
      logprob: own - max - Math.log(weight),
      proposalLogprob: proposalLogit - logNormalizer,
      logNormalizer,
      entropy: this.withEntropy ? await this.entropy(index) : null,
      endOfGeneration: this.model.isEogToken(token),
    };
  }

  dispose(): void {
    this.base.dispose();
  }

  /** H(p) = ln Z − E_p[z − max], over every logit (banned tokens, at −∞, weigh nothing). */
  private async entropy(index: BatchLogitIndex): Promise<number> {
    const [, , , all] = await this.native.sampleToken(index, this.base, false, false, true, false);
    const flat = all ?? [];
    let max = -Infinity;
    for (let i = 1; i < flat.length; i += 2) if (flat[i]! > max) max = flat[i]!;
    let z = 0;
    let weighted = 0;
    for (let i = 1; i < flat.length; i += 2) {
      const shifted = flat[i]! - max;
      if (!Number.isFinite(shifted)) continue;
      const e = Math.exp(shifted);
      z += e;
      weighted += e * shifted;
    }
    return Math.log(z) - weighted / z;
  }
}
