// The `its` field of responses (and of a stream's final chunk): what an inference-time scaling
// run did, snake_case as on the wire.
import type { ItsDiagnostics } from "../../../its/types.js";

export interface WirePowerSamplingBlock {
  length: number;
  proposals: number;
  accepted: number;
  skipped: number;
}

export interface WireItsDiagnostics {
  method: string;
  tokens_evaluated: number;
  /** Of tokens_evaluated, those evaluated as prompt (the prompt once, chain tokens evaluated again). */
  prompt_tokens_evaluated: number;
  tokens_sampled: number;
  wall_time_ms: number;
  power_sampling?: { acceptance_rate: number | null; chains: WirePowerSamplingBlock[][] };
  smc?: {
    steps: number;
    resampling: { step: number; ess: number; ancestors: number[] }[];
    final_weights: number[];
    final_scores: number[];
  };
  best_of_n?: { scores: number[]; chosen: number[] };
}

export function wireItsDiagnostics(d: ItsDiagnostics): WireItsDiagnostics {
  const out: WireItsDiagnostics = {
    method: d.method,
    tokens_evaluated: d.tokensEvaluated,
    prompt_tokens_evaluated: d.promptTokensEvaluated,
    tokens_sampled: d.tokensSampled,
    wall_time_ms: d.wallTimeMs,
  };
  if (d.powerSampling !== undefined) {
    out.power_sampling = {
      acceptance_rate: d.powerSampling.acceptanceRate,
      chains: d.powerSampling.chains.map((chain) =>
        chain.map((b) => ({ length: b.length, proposals: b.proposals, accepted: b.accepted, skipped: b.skipped })),
      ),
    };
  }
  if (d.smc !== undefined) {
    out.smc = {
      steps: d.smc.steps,
      resampling: d.smc.resampling.map((e) => ({ step: e.step, ess: e.ess, ancestors: [...e.ancestors] })),
      final_weights: [...d.smc.finalWeights],
      final_scores: [...d.smc.finalScores],
    };
  }
  if (d.bestOfN !== undefined) out.best_of_n = { scores: [...d.bestOfN.scores], chosen: [...d.bestOfN.chosen] };
  return out;
}
