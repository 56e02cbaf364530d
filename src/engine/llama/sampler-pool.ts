// Native samplers kept for the next generation instead of being built anew. Building one
// allocates and clears a candidate array the size of the vocabulary (1.8 MB and ~0.75 ms on a
// 152k-token vocabulary, measured): a third of a max_tokens=1 request's main-thread time, and
// paid serially for every request admitted in the same tick.
import type { Llama, LlamaModel } from "node-llama-cpp";
import { configureSampler, createNativeSampler, type NativeSampler, type NativeSamplerConfig } from "./native.js";

export class SamplerPool {
  private readonly idle: NativeSampler[] = [];

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    /** Idle samplers kept; more are disposed on release. */
    private readonly keep: number,
  ) {}

  /** A sampler in the same state as a new one configured with `config`. */
  acquire(config: NativeSamplerConfig): NativeSampler {
    const sampler = config.seed === undefined ? undefined : this.idle.pop();
    if (sampler === undefined) return createNativeSampler(this.llama, this.model, config);
    resetSampler(sampler, config.seed!);
    configureSampler(sampler, config);
    return sampler;
  }

  release(sampler: NativeSampler): void {
    if (this.idle.length < this.keep) this.idle.push(sampler);
    else sampler.dispose();
  }

  dispose(): void {
    for (const sampler of this.idle.splice(0)) sampler.dispose();
  }
}

/**
 * The addon keeps a stage whose setting is unchanged, with its state: the RNG of a repeated seed
 * would go on where the last generation left it, a penalty stage would keep its history. A
 * configuration with none of the optional stages frees them all, and a seed other than the next
 * one makes that one's RNG start afresh, as in a new sampler.
 */
function resetSampler(sampler: NativeSampler, nextSeed: number): void {
  configureSampler(sampler, { seed: (nextSeed + 1) >>> 0 });
}
