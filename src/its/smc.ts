// Sequential Monte Carlo over particles (chains): each step every unfinished particle grows by
// tokensPerStep tokens (plain sampling, or power sampling over the step's new tokens), its
// log-weight grows by the metric's score of those tokens, and when the effective sample size of
// the unfinished particles drops below essThreshold × their number they are resampled.
//
// stopOnEos: the engine ends a chain at end-of-generation, so a particle that writes it is
// finished; the server refuses stopOnEos false (particles that must run to max_tokens need the
// end-of-generation token banned with logit_bias, which the metrics then see like any bias).
import type { ScalingSession } from "../engine/types.js";
import { rankByScore, sequenceScore, sumScore } from "./metrics.js";
import { powerSample, validatePowerSpec } from "./power-sampling.js";
import { createPrng, deriveSeed, type Prng } from "./random.js";
import {
  disposeTracks,
  extendTrack,
  settleAll,
  throwIfAborted,
  toChoice,
  type RunContext,
  type Track,
} from "./track.js";
import type { ItsChoice, ItsDiagnostics, ItsProgress, ItsSpec, PowerSamplingBlock } from "./types.js";

export type SmcSpec = Extract<ItsSpec, { method: "smc" }>;

export interface SmcOptions {
  /** The proposal temperature (for the power_distribution metric). */
  temperature: number;
  seed: number;
  ctx: RunContext;
  onProgress?: ((p: ItsProgress) => void) | undefined;
}

export interface SmcOutcome {
  choice: ItsChoice;
  smc: NonNullable<ItsDiagnostics["smc"]>;
  /** Per particle slot, the blocks of its power-sampled steps; null without `power`. */
  powerBlocks: PowerSamplingBlock[][] | null;
}

export function validateSmcSpec(spec: SmcSpec): void {
  if (!Number.isInteger(spec.particles) || spec.particles < 1) throw new Error("particles must be an integer ≥ 1");
  if (!Number.isInteger(spec.tokensPerStep) || spec.tokensPerStep < 1)
    throw new Error("tokensPerStep must be an integer ≥ 1");
  if (!(spec.essThreshold >= 0) || !Number.isFinite(spec.essThreshold))
    throw new Error("essThreshold must be a finite number ≥ 0");
  if (spec.resampling !== "multinomial" && spec.resampling !== "systematic")
    throw new Error("resampling must be multinomial or systematic");
  if (spec.power) validatePowerSpec(spec.power);
}

/**
 * Normalized weights from log-weights (max-shifted). All -Infinity (or NaN): uniform; some
 * +Infinity: uniform over those.
 */
export function normalizeLogWeights(logWeights: readonly number[]): number[] {
  const n = logWeights.length;
  if (n === 0) return [];
  let max = -Infinity;
  for (const lw of logWeights) if (lw > max) max = lw;
  if (max === Infinity) {
    const top = logWeights.filter((lw) => lw === Infinity).length;
    return logWeights.map((lw) => (lw === Infinity ? 1 / top : 0));
  }
  if (max === -Infinity || Number.isNaN(max)) return logWeights.map(() => 1 / n);
  const exps = logWeights.map((lw) => (Number.isNaN(lw) ? 0 : Math.exp(lw - max)));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** Effective sample size 1/Σw² of normalized weights. */
export function effectiveSampleSize(weights: readonly number[]): number {
  let sq = 0;
  for (const w of weights) sq += w * w;
  return sq > 0 ? 1 / sq : 0;
}

/**
 * Draws weights.length ancestor indexes (into weights) from normalized weights. Multinomial: one
 * independent draw each; systematic: one draw u, positions (u + i)/M. Ancestors come out sorted
 * for systematic resampling.
 */
export function resampleAncestors(weights: readonly number[], kind: "multinomial" | "systematic", rng: Prng): number[] {
  const m = weights.length;
  const cumulative: number[] = [];
  let total = 0;
  let lastPositive = 0;
  for (let i = 0; i < m; i++) {
    total += weights[i]!;
    cumulative.push(total);
    if (weights[i]! > 0) lastPositive = i;
  }
  const pick = (position: number): number => {
    const target = position * total;
    for (let i = 0; i < m; i++) if (target < cumulative[i]! && weights[i]! > 0) return i;
    return lastPositive; // rounding: the cumulative sum may end just short of 1
  };
  const ancestors: number[] = [];
  if (kind === "systematic") {
    const u = rng();
    for (let i = 0; i < m; i++) ancestors.push(pick((u + i) / m));
  } else {
    for (let i = 0; i < m; i++) ancestors.push(pick(rng()));
  }
  return ancestors;
}

export async function runSmc(session: ScalingSession, spec: SmcSpec, options: SmcOptions): Promise<SmcOutcome> {
  validateSmcSpec(spec);
  const { temperature, seed, ctx, onProgress } = options;
  const n = spec.particles;
  const k = spec.tokensPerStep;
  const resampleRng = createPrng(deriveSeed(seed, 0));
  const tracks: Track[] = [];
  try {
    for (let i = 0; i < n; i++) tracks.push({ chain: session.chain(), steps: [] });
    const logWeights = new Array<number>(n).fill(0);
    const finished = tracks.map((t) => t.chain.done);
    const powerBlocks: PowerSamplingBlock[][] | null = spec.power ? tracks.map(() => []) : null;
    const resampling: SmcOutcome["smc"]["resampling"] = [];
    let step = 0;

    const advance = async (i: number): Promise<void> => {
      const track = tracks[i]!;
      const before = track.steps.length;
      const limit = Math.min(before + k, session.maxTokens);
      if (spec.power) {
        const power = spec.power;
        const blocks = powerBlocks![i]!;
        await powerSample(track, {
          ...power,
          blockSize: Math.min(power.blockSize, k),
          start: before,
          limit,
          rng: createPrng(deriveSeed(deriveSeed(seed, step), i)),
          ctx,
          onBlock: (block) => {
            blocks.push(block);
            onProgress?.({
              event: "block",
              chain: i,
              block: blocks.length,
              length: block.length,
              accepted: block.accepted,
              proposals: block.proposals,
            });
          },
        });
      } else {
        await extendTrack(track, limit - before, ctx);
      }
      logWeights[i]! += sumScore(track.steps.slice(before), spec.metric, temperature);
      // A chain that did not grow and is not done would loop forever: count it as finished.
      finished[i] = track.chain.done || track.steps.length === before;
    };

    while (finished.includes(false)) {
      step++;
      throwIfAborted(ctx);
      const active = tracks.map((_, i) => i).filter((i) => !finished[i]);
      await settleAll(active.map((i) => advance(i)));

      const unfinished = tracks.map((_, i) => i).filter((i) => !finished[i]);
      if (unfinished.length === 0) {
        // Nothing left to resample: report the ESS of all particles' weights.
        const ess = effectiveSampleSize(normalizeLogWeights(logWeights));
        onProgress?.({ event: "smc_step", step, ess, resampled: false });
        break;
      }
      const weights = normalizeLogWeights(unfinished.map((i) => logWeights[i]!));
      const ess = effectiveSampleSize(weights);
      const resampled = ess < spec.essThreshold * unfinished.length;
      if (resampled) {
        const drawn = resampleAncestors(weights, spec.resampling, resampleRng);
        const ancestors = tracks.map((_, i) => i);
        unfinished.forEach((slot, j) => (ancestors[slot] = unfinished[drawn[j]!]!));
        copyAncestors(tracks, ancestors);
        for (const i of unfinished) logWeights[i] = 0;
        resampling.push({ step, ess, ancestors });
      }
      onProgress?.({ event: "smc_step", step, ess, resampled });
    }

    const finalScores = tracks.map((t) => sequenceScore(t.steps, spec.metric, temperature));
    const best = rankByScore(finalScores)[0]!; // first index on ties
    return {
      choice: toChoice(tracks[best]!.steps, finalScores[best]!),
      smc: { steps: step, resampling, finalWeights: normalizeLogWeights(logWeights), finalScores },
      powerBlocks,
    };
  } finally {
    disposeTracks(tracks);
  }
}

/**
 * Replaces each slot whose ancestor is another particle by a fork of that ancestor (all forks are
 * taken from the chains as they were before any slot changes), disposing the slot's old chain.
 */
function copyAncestors(tracks: Track[], ancestors: readonly number[]): void {
  const copies: { slot: number; track: Track }[] = [];
  try {
    ancestors.forEach((from, slot) => {
      if (from === slot) return;
      const source = tracks[from]!;
      copies.push({
        slot,
        track: { chain: source.chain.fork(source.chain.tokens.length), steps: source.steps.slice() },
      });
    });
  } catch (e) {
    disposeTracks(copies.map((c) => c.track));
    throw e;
  }
  for (const { slot, track } of copies) {
    const old = tracks[slot]!;
    tracks[slot] = track;
    old.chain.dispose();
  }
}
