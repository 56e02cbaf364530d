// Best-of-N: n candidate answers generated concurrently (plain sampling, or power sampling per
// candidate), each scored by the metric's sequence score; the keepBest best are returned best first.
import type { ScalingSession } from "../engine/types.js";
import { rankByScore, sequenceScore } from "./metrics.js";
import { powerSample, validatePowerSpec } from "./power-sampling.js";
import { createPrng, deriveSeed } from "./random.js";
import { disposeTracks, extendTrack, settleAll, toChoice, type RunContext, type Track } from "./track.js";
import type { ItsChoice, ItsDiagnostics, ItsProgress, ItsSpec, PowerSamplingBlock } from "./types.js";

export type BestOfNSpec = Extract<ItsSpec, { method: "best_of_n" }>;

export interface BestOfNOptions {
  /** The proposal temperature (for the power_distribution metric). */
  temperature: number;
  seed: number;
  ctx: RunContext;
  onProgress?: ((p: ItsProgress) => void) | undefined;
}

export interface BestOfNOutcome {
  choices: ItsChoice[];
  bestOfN: NonNullable<ItsDiagnostics["bestOfN"]>;
  /** Per candidate, its power-sampling blocks; null without `power`. */
  powerBlocks: PowerSamplingBlock[][] | null;
}

export function validateBestOfNSpec(spec: BestOfNSpec): void {
  if (!Number.isInteger(spec.n) || spec.n < 1) throw new Error("n must be an integer ≥ 1");
  if (!Number.isInteger(spec.keepBest) || spec.keepBest < 1) throw new Error("keepBest must be an integer ≥ 1");
  if (spec.power) validatePowerSpec(spec.power);
}

export async function runBestOfN(
  session: ScalingSession,
  spec: BestOfNSpec,
  options: BestOfNOptions,
): Promise<BestOfNOutcome> {
  validateBestOfNSpec(spec);
  const { temperature, seed, ctx, onProgress } = options;
  const tracks: Track[] = [];
  try {
    for (let i = 0; i < spec.n; i++) tracks.push({ chain: session.chain(), steps: [] });
    const powerBlocks: PowerSamplingBlock[][] | null = spec.power ? tracks.map(() => []) : null;
    const scores = await settleAll(
      tracks.map(async (track, i) => {
        if (spec.power) {
          const blocks = powerBlocks![i]!;
          await powerSample(track, {
            ...spec.power,
            start: 0,
            limit: session.maxTokens,
            rng: createPrng(deriveSeed(seed, i)),
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
          await extendTrack(track, session.maxTokens, ctx);
        }
        const score = sequenceScore(track.steps, spec.metric, temperature);
        onProgress?.({ event: "candidate", candidate: i, score });
        return score;
      }),
    );
    const chosen = rankByScore(scores).slice(0, spec.keepBest);
    return {
      choices: chosen.map((i) => toChoice(tracks[i]!.steps, scores[i]!)),
      bestOfN: { scores, chosen },
      powerBlocks,
    };
  } finally {
    disposeTracks(tracks);
  }
}
