// Runs an inference-time scaling spec on an engine's ScalingSession: dispatches to power sampling,
// SMC or best-of-N and assembles the result and its diagnostics. The caller creates the session
// (at the proposal temperature: 1/alpha for power sampling) and closes it; every chain a run
// creates is disposed before runIts settles, whether it resolves or rejects.
import type { ScalingSession } from "../engine/types.js";
import { runBestOfN } from "./best-of-n.js";
import { powerSample, validatePowerSpec } from "./power-sampling.js";
import { createPrng, deriveSeed } from "./random.js";
import { runSmc } from "./smc.js";
import { disposeTracks, settleAll, toChoice, type RunContext, type Track } from "./track.js";
import type { ItsChoice, ItsDiagnostics, ItsProgress, ItsResult, ItsSpec, PowerSamplingBlock } from "./types.js";

export interface RunItsOptions {
  /** The proposal temperature the session was created with (1/alpha for power sampling). */
  temperature: number;
  /** Seeds the run's accept/reject and resampling draws (the engine's sampler has its own seed). */
  seed: number;
  /** power_sampling only: independent chains run concurrently, one choice each (default 1). */
  n?: number;
  onProgress?: (p: ItsProgress) => void;
  signal?: AbortSignal;
}

export async function runIts(session: ScalingSession, spec: ItsSpec, options: RunItsOptions): Promise<ItsResult> {
  if (!(options.temperature > 0) || !Number.isFinite(options.temperature))
    throw new Error("temperature must be a finite number > 0");
  const started = performance.now();
  const ctx: RunContext = { tokensSampled: 0, signal: options.signal };
  const common = { temperature: options.temperature, seed: options.seed, ctx, onProgress: options.onProgress };
  let choices: ItsChoice[];
  let powerBlocks: PowerSamplingBlock[][] | null = null;
  let section: Pick<ItsDiagnostics, "smc" | "bestOfN"> = {};
  switch (spec.method) {
    case "power_sampling": {
      const result = await runPowerSampling(session, spec.power, options.n ?? 1, common);
      choices = result.choices;
      powerBlocks = result.powerBlocks;
      break;
    }
    case "smc": {
      const result = await runSmc(session, spec, common);
      choices = [result.choice];
      powerBlocks = result.powerBlocks;
      section = { smc: result.smc };
      break;
    }
    case "best_of_n": {
      const result = await runBestOfN(session, spec, common);
      choices = result.choices;
      powerBlocks = result.powerBlocks;
      section = { bestOfN: result.bestOfN };
      break;
    }
    default:
      throw new Error(`unknown scaling method ${(spec as { method: string }).method}`);
  }
  const diagnostics: ItsDiagnostics = {
    method: spec.method,
    tokensEvaluated: session.tokensEvaluated,
    promptTokensEvaluated: session.promptTokensEvaluated,
    tokensSampled: ctx.tokensSampled,
    wallTimeMs: performance.now() - started,
  };
  if (powerBlocks) diagnostics.powerSampling = { chains: powerBlocks, acceptanceRate: acceptanceRate(powerBlocks) };
  Object.assign(diagnostics, section);
  return { choices, diagnostics };
}

/** accepted / proposals over every block of every chain; null when nothing was proposed. */
export function acceptanceRate(chains: readonly (readonly PowerSamplingBlock[])[]): number | null {
  let proposals = 0;
  let accepted = 0;
  for (const blocks of chains) {
    for (const block of blocks) {
      proposals += block.proposals;
      accepted += block.accepted;
    }
  }
  return proposals > 0 ? accepted / proposals : null;
}

async function runPowerSampling(
  session: ScalingSession,
  power: Extract<ItsSpec, { method: "power_sampling" }>["power"],
  n: number,
  options: { seed: number; ctx: RunContext; onProgress?: ((p: ItsProgress) => void) | undefined },
): Promise<{ choices: ItsChoice[]; powerBlocks: PowerSamplingBlock[][] }> {
  validatePowerSpec(power);
  if (!Number.isInteger(n) || n < 1) throw new Error("n must be an integer ≥ 1");
  const { seed, ctx, onProgress } = options;
  const tracks: Track[] = [];
  try {
    for (let i = 0; i < n; i++) tracks.push({ chain: session.chain(), steps: [] });
    const powerBlocks: PowerSamplingBlock[][] = tracks.map(() => []);
    await settleAll(
      tracks.map((track, i) =>
        powerSample(track, {
          ...power,
          start: 0,
          limit: session.maxTokens,
          rng: createPrng(deriveSeed(seed, i)),
          ctx,
          onBlock: (block) => {
            const blocks = powerBlocks[i]!;
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
        }),
      ),
    );
    return { choices: tracks.map((t) => toChoice(t.steps, null)), powerBlocks };
  } finally {
    disposeTracks(tracks);
  }
}
