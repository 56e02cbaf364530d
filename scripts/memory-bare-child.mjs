// The floor for lavash's memory (issue 12): node-llama-cpp alone, in plain JavaScript (no tsx, no
// server), loading a GGUF and creating one context of N sequences exactly as lavash serve does
// (src/engine/llama/llama-engine.ts loadOne). Started by scripts/measure-memory.ts, which reads
// this process's /proc status from outside:
//   node scripts/memory-bare-child.mjs MODEL.gguf PARALLEL CTX_PER_SEQUENCE BATCH THREADS
// Prints "ready <json>" once the context exists; each "load STREAMS TOKENS" line on stdin then
// decodes STREAMS sequences (a short prompt each, then TOKENS tokens sampled at temperature 1
// over the whole vocabulary, in lockstep, as lavash's scheduler batches them) and prints "done <json>".
import { createInterface } from "node:readline";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [modelPath, parallel, contextSize, batchSize, threads] = process.argv.slice(2);
const extra = process.env.LAVASH_BARE_OPTIONS ? JSON.parse(process.env.LAVASH_BARE_OPTIONS) : {};
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.warn });
const model = await llama.loadModel({ modelPath, ...(extra.model ?? {}) });
const context = await model.createContext({
  sequences: Number(parallel),
  contextSize: Number(contextSize),
  batchSize: Number(batchSize),
  threads: Number(threads),
  ...(extra.context ?? {}),
});
const native = context._ctx;
const report = () => ({ ...process.memoryUsage(), contextSize: context.contextSize, batchSize: context.batchSize });
process.stdout.write(`ready ${JSON.stringify(report())}\n`);

async function load(streams, tokens, round) {
  const prompt = model.tokenize("The quick brown fox jumps over the lazy dog. Once upon a time,", false);
  const samplers = Array.from({ length: streams }, (_, i) => {
    const sampler = new llama._bindings.AddonSampler(model._model);
    sampler.applyConfig({ temperature: 1, seed: 100 * round + i });
    return sampler;
  });
  for (let s = 0; s < streams; s++) native.removeTokenCellsFromSequence(s, 0, -1);
  native.initBatch(prompt.length * streams);
  let idx = samplers.map(
    (_, s) => native.addToBatch(s, 0, Uint32Array.from(prompt), Uint32Array.of(prompt.length - 1))[0],
  );
  await native.decodeBatch();
  let next = await Promise.all(samplers.map((sampler, s) => native.sampleToken(idx[s], sampler)));
  for (let i = 1; i < tokens; i++) {
    native.initBatch(streams);
    idx = next.map((t, s) => native.addToBatch(s, prompt.length + i - 1, Uint32Array.of(t), Uint32Array.of(0))[0]);
    await native.decodeBatch();
    next = await Promise.all(samplers.map((sampler, s) => native.sampleToken(idx[s], sampler)));
  }
  for (const sampler of samplers) sampler.dispose();
}

let round = 0;
for await (const line of createInterface({ input: process.stdin })) {
  const [command, streams, tokens] = line.trim().split(/\s+/);
  if (command !== "load") continue;
  await load(Math.min(Number(streams), Number(parallel)), Number(tokens), round++);
  process.stdout.write(`done ${JSON.stringify(report())}\n`);
}
await context.dispose();
await model.dispose();
await llama.dispose();
