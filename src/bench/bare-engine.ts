// The engine without the server: one sequence, one token per native decode, sampled with the same
// native sampler lavash builds for an OpenAI request at temperature 1 (no top-k). Its ms/token is
// the floor that lavash's single-stream ms/token is compared with.
//
// Run as its own process with UV_THREADPOOL_SIZE=1 (as `lavash serve` runs), so that neither the
// HTTP client nor a larger libuv pool shares its CPU:
//   UV_THREADPOOL_SIZE=1 node --import tsx bench/bare-engine.ts --model builtin:tiny --tokens 64
// Prints one JSON object on stdout; progress on stderr.
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { createNativeSampler, nativeContext, type BatchLogitIndex } from "../engine/llama/native.js";
import { resolveModelPath } from "../engine/llama/model-source.js";

export interface BareResult {
  model: string;
  modelPath: string;
  tokens: number;
  threads: number;
  contextSize: number;
  uvThreadpoolSize: string | null;
  loadMs: number;
  rounds: { seed: number; prefillMs: number; msPerToken: number; tokens: number }[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "builtin:tiny" },
      tokens: { type: "string", default: "64" },
      threads: { type: "string", default: "2" },
      rounds: { type: "string", default: "3" },
      seed: { type: "string", default: "1234" },
      "ctx-size": { type: "string", default: "1024" },
      prompt: { type: "string", default: "The quick brown fox jumps over the lazy dog. Once upon a time," },
    },
  });
  const tokens = Number(values.tokens);
  const threads = Number(values.threads);
  const rounds = Number(values.rounds);
  const seed = Number(values.seed);
  const contextSize = Number(values["ctx-size"]);
  if (![tokens, threads, rounds, seed, contextSize].every(Number.isInteger) || tokens < 2)
    throw new Error("bad arguments");

  const loadStart = performance.now();
  const modelPath = await resolveModelPath(values.model, {});
  const llama = await getLlama({ gpu: "auto", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  // The settings `lavash serve` gives its context, with one sequence.
  const context = await model.createContext({ sequences: 1, contextSize, batchSize: 512, threads });
  const native = nativeContext(context);
  const prompt = model.tokenize(values.prompt, false);
  const loadMs = performance.now() - loadStart;

  const result: BareResult = {
    model: values.model,
    modelPath,
    tokens,
    threads,
    contextSize,
    uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? null,
    loadMs,
    rounds: [],
  };
  for (let round = 0; round < rounds; round++) {
    native.removeTokenCellsFromSequence(0, 0, -1);
    const sampler = createNativeSampler(llama, model, { temperature: 1, seed: seed + round });
    const t0 = performance.now();
    native.initBatch(prompt.length);
    let [index] = native.addToBatch(0, 0, Uint32Array.from(prompt), Uint32Array.of(prompt.length - 1));
    await native.decodeBatch();
    let token = (await native.sampleToken(index as BatchLogitIndex, sampler)) as Token;
    const tFirst = performance.now();
    // End-of-generation tokens are decoded like any other: the loop's cost per token is the point.
    for (let i = 1; i < tokens; i++) {
      native.initBatch(1);
      [index] = native.addToBatch(0, prompt.length + i - 1, Uint32Array.of(token), Uint32Array.of(0));
      await native.decodeBatch();
      token = (await native.sampleToken(index as BatchLogitIndex, sampler)) as Token;
    }
    const tLast = performance.now();
    sampler.dispose();
    const r = { seed: seed + round, prefillMs: tFirst - t0, msPerToken: (tLast - tFirst) / (tokens - 1), tokens };
    result.rounds.push(r);
    process.stderr.write(`  bare engine round ${round + 1}/${rounds}: ${r.msPerToken.toFixed(2)} ms/token\n`);
  }
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-engine: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
