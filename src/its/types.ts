// What an inference-time scaling request asks for, and what running it gives back. The server
// maps the API's `its` object (or a PITA system-prompt code) onto ItsSpec; src/its runs it on an
// engine's ScalingSession.
import type { ScoredStep } from "../engine/types.js";

/** Per-token metrics (PITA's names); T is the proposal temperature, p the model at temperature 1. */
export type TokenMetric =
  /** ln q_T(token): the log-softmax at the sampling temperature (ln p when T = 1). */
  | "logprobs"
  /** (1/T)·ln p(token), i.e. α·ln p with α = 1/T. */
  | "power_distribution"
  /** Entropy of p at the position (scored negated: lower entropy is better). */
  | "entropy"
  /** logprobs − entropy. */
  | "likelihood_confidence";

/** Power sampling: target ∝ p(x)^α, proposals from the model at T = 1/α, MH after each block. */
export interface PowerSamplingSpec {
  blockSize: number;
  mcmcSteps: number;
  alpha: number;
}

export type ItsSpec =
  | { method: "power_sampling"; power: PowerSamplingSpec }
  | {
      method: "smc";
      particles: number;
      tokensPerStep: number;
      metric: TokenMetric;
      resampling: "multinomial" | "systematic";
      /** Resample when ESS < essThreshold × (unfinished particles); 1: every step (PITA). */
      essThreshold: number;
      /** A particle that writes end-of-generation stops; false: it may not end before max_tokens. */
      stopOnEos: boolean;
      /** Each step's tokens are drawn by power sampling instead of plain sampling. */
      power?: PowerSamplingSpec;
    }
  | {
      method: "best_of_n";
      n: number;
      metric: TokenMetric;
      /** How many of the best candidates are returned, best first (the wire's its.top_k). */
      keepBest: number;
      power?: PowerSamplingSpec;
    };

/** A finished answer of a scaling run. */
export interface ItsChoice {
  tokens: number[];
  steps: ScoredStep[];
  /** "stop": it ended with an end-of-generation token; "length": it reached max_tokens. */
  finishReason: "stop" | "length";
  /** The metric's sequence score (mean per token) when the method ranks candidates; else null. */
  score: number | null;
}

export interface PowerSamplingBlock {
  /** Chain length (tokens) after the block's extension. */
  length: number;
  proposals: number;
  accepted: number;
  /** Steps whose position fell past the end of a chain that had already ended (no proposal). */
  skipped: number;
}

export interface ResamplingEvent {
  step: number;
  /** Effective sample size before resampling. */
  ess: number;
  /** For each particle slot, the particle it now copies. */
  ancestors: number[];
}

export interface ItsDiagnostics {
  method: ItsSpec["method"];
  /** Tokens the model evaluated for this request (prompt once, re-evaluations, every decode). */
  tokensEvaluated: number;
  /** Of those, evaluated as prompt: the prompt once and chain tokens evaluated again. */
  promptTokensEvaluated: number;
  /** Tokens sampled, proposals included. */
  tokensSampled: number;
  wallTimeMs: number;
  /** Power sampling (and power-sampled proposals): per chain, per block. */
  powerSampling?: { chains: PowerSamplingBlock[][]; acceptanceRate: number | null };
  smc?: { steps: number; resampling: ResamplingEvent[]; finalWeights: number[]; finalScores: number[] };
  bestOfN?: { scores: number[]; chosen: number[] };
}

export interface ItsResult {
  choices: ItsChoice[];
  diagnostics: ItsDiagnostics;
}

/** Progress while a run works (streamed as SSE comments). */
export type ItsProgress =
  | { event: "block"; chain: number; block: number; length: number; accepted: number; proposals: number }
  | { event: "smc_step"; step: number; ess: number; resampled: boolean }
  | { event: "candidate"; candidate: number; score: number };
