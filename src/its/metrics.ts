// Per-token metrics (PITA's names) and the sequence scores built from them. T is the proposal
// temperature (the one the chain samples at); p is the model at temperature 1 with logit_bias.
import type { ScoredStep } from "../engine/types.js";
import type { TokenMetric } from "./types.js";

export const TOKEN_METRICS: readonly TokenMetric[] = [
  "logprobs",
  "power_distribution",
  "entropy",
  "likelihood_confidence",
];

/** Whether the metric reads ScoredStep.entropy (the session must then be started with entropy on). */
export function metricNeedsEntropy(metric: TokenMetric): boolean {
  return metric === "entropy" || metric === "likelihood_confidence";
}

function entropyOf(step: ScoredStep): number {
  if (step.entropy === null) {
    throw new Error("the entropy metric needs per-token entropy, but the session did not compute it");
  }
  return step.entropy;
}

/**
 * The metric's raw value at one token: logprobs = ln q_T(token); power_distribution = ln p(token)/T;
 * entropy = H(p) at the position (nats); likelihood_confidence = ln q_T(token) − H(p).
 */
export function tokenMetric(step: ScoredStep, metric: TokenMetric, temperature: number): number {
  switch (metric) {
    case "logprobs":
      return step.proposalLogprob;
    case "power_distribution":
      return step.logprob / temperature;
    case "entropy":
      return entropyOf(step);
    case "likelihood_confidence":
      return step.proposalLogprob - entropyOf(step);
  }
}

/** The metric oriented so that higher is better: entropy negated, the others as they are. */
export function tokenScore(step: ScoredStep, metric: TokenMetric, temperature: number): number {
  const value = tokenMetric(step, metric, temperature);
  return metric === "entropy" ? -value : value;
}

/** Σ tokenScore over the steps (an SMC particle's log-weight increment); 0 for none. */
export function sumScore(steps: readonly ScoredStep[], metric: TokenMetric, temperature: number): number {
  let sum = 0;
  for (const step of steps) sum += tokenScore(step, metric, temperature);
  return sum;
}

/** The sequence score: the mean of tokenScore over the sequence's tokens; -Infinity when it is empty. */
export function sequenceScore(steps: readonly ScoredStep[], metric: TokenMetric, temperature: number): number {
  if (steps.length === 0) return -Infinity;
  return sumScore(steps, metric, temperature) / steps.length;
}

/** Indexes ordered best first by score; ties keep the lower index first. */
export function rankByScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => compareScores(scores[b]!, scores[a]!) || a - b);
}

/** Orders numbers ascending with NaN lowest (so a NaN never wins a ranking). */
function compareScores(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a === b ? 0 : a < b ? -1 : 1;
}
