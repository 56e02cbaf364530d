// Per-token cost of three layers on the same model and settings, to find where lavash's time goes
// (issue 12): the bare native loop (N sequences in lockstep: one decode, N samples, repeat), the
// engine in-process (LlamaEngine: scheduler, text pipeline, event channels; no HTTP), and a
// started `lavash serve` over HTTP/SSE. Run each layer in its own process, as serve runs:
//   UV_THREADPOOL_SIZE=1 node --import tsx scripts/profile-engine.ts --layer bare --streams 1
//   UV_THREADPOOL_SIZE=1 node --import tsx scripts/profile-engine.ts --layer engine --streams 8
//   node --import tsx scripts/profile-engine.ts --layer http --streams 8 --url http://127.0.0.1:PORT
// Prints one JSON line: ms per token (one stream's view) and aggregate tokens/s, per round.
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { LlamaEngine } from "../src/engine/llama/llama-engine.js";
import { createNativeSampler, nativeContext, type BatchLogitIndex } from "../src/engine/llama/native.js";
import { ensureBuiltinModel } from "../src/models/builtin.js";

const { values } = parseArgs({
  options: {
    layer: { type: "string", default: "engine" },
    streams: { type: "string", default: "1" },
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    url: { type: "string", default: "" },
    prompt: { type: "string", default: "The quick brown fox jumps over the lazy dog. Once upon a time," },
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);
const threads = Number(values.threads);

interface Round {
  /** Wall time from the first stream's first token to the last stream's last token, per token of one stream. */
  msPerToken: number;
  aggregateTokS: number;
}

async function bare(): Promise<Round[]> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: await ensureBuiltinModel("tiny") });
  const context = await model.createContext({ sequences: streams, contextSize: 1024, batchSize: 512, threads });
  const native = nativeContext(context);
  const prompt = model.tokenize(values.prompt, false);
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const samplers = Array.from({ length: streams }, (_, i) =>
      createNativeSampler(llama, model, { temperature: 1, seed: 100 * round + i }),
    );
    for (let s = 0; s < streams; s++) native.removeTokenCellsFromSequence(s, 0, -1);
    native.initBatch(prompt.length * streams);
    let idx = samplers.map(
      (_, s) => native.addToBatch(s, 0, Uint32Array.from(prompt), Uint32Array.of(prompt.length - 1))[0]!,
    );
    await native.decodeBatch();
    let next = await Promise.all(
      samplers.map((sampler, s) => native.sampleToken(idx[s] as BatchLogitIndex, sampler) as Promise<Token>),
    );
    const t0 = performance.now();
    for (let i = 1; i < tokens; i++) {
      native.initBatch(streams);
      idx = next.map((t, s) => native.addToBatch(s, prompt.length + i - 1, Uint32Array.of(t), Uint32Array.of(0))[0]!);
      await native.decodeBatch();
      next = await Promise.all(
        samplers.map((sampler, s) => native.sampleToken(idx[s] as BatchLogitIndex, sampler) as Promise<Token>),
      );
    }
    const ms = performance.now() - t0;
    samplers.forEach((s) => s.dispose());
    out.push({ msPerToken: ms / (tokens - 1), aggregateTokS: ((tokens - 1) * streams * 1000) / ms });
  }
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return out;
}

async function engine(): Promise<Round[]> {
  const e = new LlamaEngine({
    models: [{ id: "tiny", source: "builtin:tiny" }],
    contextSize: 1024,
    parallel: streams,
    threads,
    batchSize: 512,
    prefillChunk: "auto",
    maxQueue: 16,
    gpu: false,
    logger: { info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  await e.ready;
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const times = await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const generation = await e.generate({
          model: "tiny",
          prompt: { kind: "text", text: values.prompt },
          maxTokens: tokens,
          stop: [],
          sampling: {
            temperature: 1,
            topP: 1,
            seed: 100 * round + i,
            logitBias: [
              [151643, -100],
              [151645, -100],
            ],
          },
        });
        const stamps: number[] = [];
        for await (const event of generation) if (event.type === "text") stamps.push(performance.now());
        return stamps;
      }),
    );
    out.push(span(times));
  }
  await e.close();
  return out;
}

async function http(): Promise<Round[]> {
  if (!values.url) throw new Error("--url is required for --layer http");
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const times = await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const response = await fetch(`${values.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "tiny",
            prompt: values.prompt,
            max_tokens: tokens,
            stream: true,
            temperature: 1,
            seed: 100 * round + i,
            logit_bias: { "151643": -100, "151645": -100 },
          }),
        });
        const stamps: number[] = [];
        const reader = response.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          // One SSE event per token (a read may carry several: each counts).
          const text = new TextDecoder().decode(value);
          const now = performance.now();
          for (const line of text.split("\n"))
            if (line.startsWith("data: {") && line.includes('"text"')) stamps.push(now);
        }
        return stamps;
      }),
    );
    out.push(span(times));
  }
  return out;
}

/** Aggregate over streams: first token of any to the last token of any. */
function span(times: number[][]): Round {
  const first = Math.min(...times.map((t) => t[0]!));
  const last = Math.max(...times.map((t) => t[t.length - 1]!));
  const count = times.reduce((n, t) => n + t.length - 1, 0);
  return { msPerToken: (last - first) / (count / streams), aggregateTokS: (count * 1000) / (last - first) };
}

const layer = values.layer;
const run = layer === "bare" ? bare : layer === "engine" ? engine : layer === "http" ? http : null;
if (!run) throw new Error(`unknown layer ${layer}`);
const usage = process.resourceUsage();
const started = performance.now();
const result = await run();
const used = process.resourceUsage();
const wallMs = performance.now() - started;
// This process's CPU time and context switches over the whole run (load and prefill included):
// compared between layers at the same settings, the differences are the layers' own costs.
const generatedTokens = rounds * streams * tokens;
const cpu = {
  wallMs: Math.round(wallMs),
  userMsPerToken: (used.userCPUTime - usage.userCPUTime) / 1000 / generatedTokens,
  systemMsPerToken: (used.systemCPUTime - usage.systemCPUTime) / 1000 / generatedTokens,
  voluntarySwitchesPerToken: (used.voluntaryContextSwitches - usage.voluntaryContextSwitches) / generatedTokens,
  involuntarySwitchesPerToken: (used.involuntaryContextSwitches - usage.involuntaryContextSwitches) / generatedTokens,
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({ layer, streams, tokens, threads, uv: process.env.UV_THREADPOOL_SIZE ?? null, msPerToken: median(result.map((r) => r.msPerToken)), aggregateTokS: median(result.map((r) => r.aggregateTokS)), cpu, rounds: result })}\n`,
);
