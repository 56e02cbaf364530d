// Power sampling (PITA's "power distribution" sampler): the target is π(x) ∝ p(x)^α over complete
// answers, proposals come from the chain's own sampler at T = 1/α (the caller starts the session at
// that temperature). The chain grows block by block; after each block, Metropolis–Hastings steps
// resample a suffix from a uniformly chosen position.
//
// Why the kernel is exact for the last block: the position idx is uniform on [start, L_b − 1]
// whatever the state, and a proposal regenerates the suffix from idx with the same budget L_b that
// the reverse move would use. So Q(x → x') = P(idx)·q(x'[idx:] | x[:idx]) and the reverse is
// P(idx)·q(x[idx:] | x[:idx]); with π ∝ p^α, the ratio below is the MH acceptance for π over the
// answers that end at end-of-generation or at L_b. A position past the end of a chain that ended
// early is a no-op (counted as skipped) — the state-independent idx is what keeps it reversible.
import type { ScoredStep } from "../engine/types.js";
import type { Prng } from "./random.js";
import { uniformInt } from "./random.js";
import { extendTrack, throwIfAborted, type RunContext, type Track } from "./track.js";
import type { PowerSamplingBlock, PowerSamplingSpec } from "./types.js";

export interface PowerRunOptions extends PowerSamplingSpec {
  /** The first position the run may change (0 for a whole answer; a step's start inside SMC). */
  start: number;
  /** The most tokens the chain may hold when the run ends (≤ session.maxTokens). */
  limit: number;
  /** Source of the position and accept/reject draws (one each per MH step). */
  rng: Prng;
  ctx: RunContext;
  /** Called after each block's MH steps. */
  onBlock?: (block: PowerSamplingBlock) => void;
}

/** Checks a power-sampling spec; throws an Error naming the bad field. */
export function validatePowerSpec(spec: PowerSamplingSpec): void {
  if (!Number.isInteger(spec.blockSize) || spec.blockSize < 1)
    throw new Error("power.blockSize must be an integer ≥ 1");
  if (!Number.isInteger(spec.mcmcSteps) || spec.mcmcSteps < 0)
    throw new Error("power.mcmcSteps must be an integer ≥ 0");
  if (!(spec.alpha > 0) || !Number.isFinite(spec.alpha)) throw new Error("power.alpha must be a finite number > 0");
}

/** log A of replacing the current suffix (from idx) by the proposal's suffix, for π ∝ p^α. */
export function logAcceptance(alpha: number, current: readonly ScoredStep[], proposal: readonly ScoredStep[]): number {
  let logA = 0;
  for (const s of proposal) logA += alpha * s.logprob - s.proposalLogprob;
  for (const s of current) logA -= alpha * s.logprob - s.proposalLogprob;
  return logA;
}

/**
 * Runs power sampling on the track from `start` up to `limit` tokens. The track's chain is replaced
 * by each accepted proposal (the old one disposed); rejected proposals are disposed. The caller keeps
 * owning the track and disposes its final chain. Returns one entry per block.
 */
export async function powerSample(track: Track, options: PowerRunOptions): Promise<PowerSamplingBlock[]> {
  validatePowerSpec(options);
  const { alpha, blockSize, mcmcSteps, start, limit, rng, ctx } = options;
  if (track.steps.length !== track.chain.tokens.length) throw new Error("track steps are not aligned with its chain");
  if (start > track.steps.length) throw new Error("power sampling must start within the chain");
  const blocks: PowerSamplingBlock[] = [];
  if (track.chain.done || limit <= start) return blocks;

  for (let b = 1; ; b++) {
    const budget = Math.min(start + b * blockSize, limit);
    await extendTrack(track, budget - track.steps.length, ctx);
    // `length` is the chain's length after the block's extension (L_b, or less if it ended early).
    const block: PowerSamplingBlock = { length: track.steps.length, proposals: 0, accepted: 0, skipped: 0 };
    for (let s = 0; s < mcmcSteps; s++) {
      throwIfAborted(ctx);
      const idx = uniformInt(rng, start, budget - 1);
      if (idx >= track.steps.length) {
        block.skipped++;
        continue;
      }
      const proposal = track.chain.fork(idx);
      let accepted = false;
      let suffix: ScoredStep[];
      try {
        suffix = await proposal.extend(budget - idx);
        ctx.tokensSampled += suffix.length;
        block.proposals++;
        const logA = logAcceptance(alpha, track.steps.slice(idx), suffix);
        // Exactly one draw per proposal, accepted or not, so runs replay draw for draw.
        accepted = Math.log(rng()) < logA;
      } finally {
        if (!accepted) proposal.dispose();
      }
      if (accepted) {
        const old = track.chain;
        track.chain = proposal;
        track.steps = track.steps.slice(0, idx).concat(suffix);
        block.accepted++;
        old.dispose();
      }
    }
    blocks.push(block);
    options.onBlock?.(block);
    if (budget >= limit || track.chain.done) return blocks;
  }
}
