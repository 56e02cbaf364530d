// Inference-time scaling efficiency: the same power-sampling runs (same seeds) twice on one
// engine, once as lavash runs them (chains reuse the KV state of the prompt and of their own
// prefix) and once as PITA runs them (every extension evaluates the prompt and the chain again).
// Reports tokens evaluated and wall time per run, medians over seeds, and the target: at least
// 10× fewer tokens evaluated with a 500-token prompt, 8 MCMC steps, blocks of 64.
//
//   npm run bench -- --scenario its [--prompt-tokens 500] [--max-tokens 128] [--block 64] [--steps 8] [--rounds 3]
//
// Progress on stderr; a table on stdout; every number in the JSON file (--out).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { LlamaEngine } from "../engine/llama/llama-engine.js";
import { runIts } from "../its/run.js";
import type { ItsSpec } from "../its/types.js";
import { syntheticText } from "./prompts.js";
import { median } from "./stats.js";
import { formatTable } from "./table.js";

export const ITS_TARGET_RATIO = 10;

interface ModeRun {
  seed: number;
  tokensEvaluated: number;
  /** Of those, evaluated as prompt: the prompt and, PITA-style, the chain again at every step. */
  promptTokensEvaluated: number;
  tokensSampled: number;
  wallMs: number;
  acceptanceRate: number | null;
}

export async function itsEfficiencyBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: "string" },
      model: { type: "string", default: "builtin:tiny" },
      "prompt-tokens": { type: "string", default: "500" },
      "max-tokens": { type: "string", default: "128" },
      block: { type: "string", default: "64" },
      steps: { type: "string", default: "8" },
      alpha: { type: "string", default: "4" },
      rounds: { type: "string", default: "3" },
      threads: { type: "string", default: "2" },
      out: { type: "string" },
    },
  });
  const promptTokens = Number(values["prompt-tokens"]);
  const maxTokens = Number(values["max-tokens"]);
  const spec: ItsSpec = {
    method: "power_sampling",
    power: { blockSize: Number(values.block), mcmcSteps: Number(values.steps), alpha: Number(values.alpha) },
  };
  const rounds = Number(values.rounds);
  const log = (m: string) => process.stderr.write(`[its bench] ${m}\n`);

  log(`loading ${values.model}`);
  const engine = new LlamaEngine({
    models: [{ id: "m", source: values.model! }],
    contextSize: promptTokens + maxTokens + 64,
    parallel: 4,
    threads: Number(values.threads),
    batchSize: 512,
    prefillChunk: "auto",
    maxQueue: 64,
    gpu: false,
    logger: { info: log, warn: log, error: log },
  });
  await engine.ready;
  const text = syntheticText(promptTokens, 1);
  const modes = { lavash: true, "pita-style": false } as const;
  const runs: Record<keyof typeof modes, ModeRun[]> = { lavash: [], "pita-style": [] };
  for (let round = 0; round < rounds; round++)
    for (const [name, reuseKvCache] of Object.entries(modes) as [keyof typeof modes, boolean][]) {
      const seed = 1000 + round;
      const started = performance.now();
      // A first word no other run starts with: every run evaluates its prompt cold.
      const prompt = { kind: "text" as const, text: `Run${round}${name === "lavash" ? "A" : "B"} ${text}` };
      const session = await engine.startScaling({
        model: "m",
        prompt,
        sampling: { temperature: 1 / spec.power.alpha, topP: 1, seed },
        maxTokens,
        entropy: false,
        reuseKvCache,
      });
      try {
        const result = await runIts(session, spec, { temperature: 1 / spec.power.alpha, seed });
        const d = result.diagnostics;
        runs[name].push({
          seed,
          tokensEvaluated: session.tokensEvaluated,
          promptTokensEvaluated: session.promptTokensEvaluated,
          tokensSampled: d.tokensSampled,
          wallMs: performance.now() - started,
          acceptanceRate: d.powerSampling?.acceptanceRate ?? null,
        });
        log(
          `round ${round + 1}/${rounds} ${name}: ${session.tokensEvaluated} tokens evaluated (${session.promptTokensEvaluated} as prompt), ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      } finally {
        session.close();
      }
    }
  await engine.close();

  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, list]) => [
      name,
      {
        tokensEvaluated: median(list.map((r) => r.tokensEvaluated)),
        promptTokensEvaluated: median(list.map((r) => r.promptTokensEvaluated)),
        wallMs: median(list.map((r) => r.wallMs)),
        acceptanceRate: median(list.flatMap((r) => (r.acceptanceRate === null ? [] : [r.acceptanceRate]))),
      },
    ]),
  ) as Record<
    keyof typeof modes,
    {
      tokensEvaluated: number | null;
      promptTokensEvaluated: number | null;
      wallMs: number | null;
      acceptanceRate: number | null;
    }
  >;
  // The target is judged on what PITA repeats: tokens evaluated as prompt. Both modes also decode
  // every sampled token, which bounds the ratio of totals (one block of 64 after a 500-token
  // prompt: (500 + 64)·9 / (500 + 64 + 8·32) ≈ 6 for any implementation).
  const ratio = summary["pita-style"].promptTokensEvaluated! / summary.lavash.promptTokensEvaluated!;
  const totalRatio = summary["pita-style"].tokensEvaluated! / summary.lavash.tokensEvaluated!;
  const speedup = summary["pita-style"].wallMs! / summary.lavash.wallMs!;
  const setup = `power sampling, ${promptTokens}-token prompt, max_tokens ${maxTokens}, block ${spec.power.blockSize}, ${spec.power.mcmcSteps} MCMC steps, alpha ${spec.power.alpha}, ${rounds} seeds (medians)`;
  process.stdout.write(
    `\nInference-time scaling efficiency: ${setup}\n` +
      formatTable(
        ["mode", "evaluated as prompt", "evaluated in all", "wall s", "acceptance"],
        (Object.keys(modes) as (keyof typeof modes)[]).map((m) => [
          m,
          String(summary[m].promptTokensEvaluated),
          String(summary[m].tokensEvaluated),
          (summary[m].wallMs! / 1000).toFixed(2),
          summary[m].acceptanceRate?.toFixed(2) ?? "-",
        ]),
      ) +
      `\npita-style / lavash: ${ratio.toFixed(1)}x tokens evaluated as prompt, ${totalRatio.toFixed(1)}x in all, ${speedup.toFixed(1)}x wall time; ` +
      `target >= ${ITS_TARGET_RATIO}x (as prompt): ${ratio >= ITS_TARGET_RATIO ? "met" : "NOT met"}\n`,
  );
  const out =
    values.out ??
    `bench-results/its-${new Date()
      .toISOString()
      .replace(/\.\d+Z$/, "Z")
      .replace(/:/g, "-")}.json`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        scenario: "its",
        setup,
        model: values.model,
        runs,
        summary,
        ratio,
        totalRatio,
        speedup,
        target: { tokensEvaluatedRatio: ITS_TARGET_RATIO, met: ratio >= ITS_TARGET_RATIO },
      },
      null,
      2,
    ),
  );
  process.stderr.write(`wrote ${out}\n`);
  return ratio >= ITS_TARGET_RATIO ? 0 : 1;
}
