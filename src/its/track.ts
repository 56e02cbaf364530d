// Plumbing shared by the scaling algorithms: a chain together with the scored steps of its tokens,
// the per-run counters, cancellation, and settling concurrent work without leaking chains.
import { EngineError } from "../engine/errors.js";
import type { ScalingChain, ScoredStep } from "../engine/types.js";
import type { ItsChoice } from "./types.js";

/**
 * A chain and the ScoredStep of each of its tokens (steps[i] scores chain.tokens[i]). Algorithms
 * may replace `chain` (an accepted proposal, a resampled copy); whoever created the track disposes
 * the chain it holds at the end, so a replaced chain is disposed by the code that replaces it.
 */
export interface Track {
  chain: ScalingChain;
  steps: ScoredStep[];
}

/** What a run counts and listens to while it works. */
export interface RunContext {
  /** Every step returned by an extend call (proposals included). */
  tokensSampled: number;
  signal?: AbortSignal | undefined;
}

export function throwIfAborted(ctx: RunContext): void {
  if (ctx.signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
}

/** Extends the track's chain by up to `count` tokens and appends their steps; returns the new steps. */
export async function extendTrack(track: Track, count: number, ctx: RunContext): Promise<ScoredStep[]> {
  if (count <= 0 || track.chain.done) return [];
  throwIfAborted(ctx);
  const steps = await track.chain.extend(count);
  ctx.tokensSampled += steps.length;
  track.steps.push(...steps);
  return steps;
}

/**
 * Promise.all that waits for every promise to settle before it rejects (with the first failure),
 * so no concurrent branch is still creating chains when the caller's cleanup disposes them.
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Disposes every track's chain, keeping on past failures (the first is rethrown at the end). */
export function disposeTracks(tracks: readonly (Track | undefined)[]): void {
  let error: unknown;
  let failed = false;
  for (const track of tracks) {
    if (!track) continue;
    try {
      track.chain.dispose();
    } catch (e) {
      if (!failed) error = e;
      failed = true;
    }
  }
  if (failed) throw error;
}

/** An answer from a track's steps. */
export function toChoice(steps: readonly ScoredStep[], score: number | null): ItsChoice {
  const last = steps[steps.length - 1];
  return {
    tokens: steps.map((s) => s.token),
    steps: [...steps],
    finishReason: last?.endOfGeneration ? "stop" : "length",
    score,
  };
}
