// Cost of one native sampleToken call on the tiny model's 152k-token vocabulary, by sampler
// configuration (issue 12's per-token overhead): the round trip through the addon's worker
// thread, best and median of many calls on the same logits, and the same for a decode of N
// one-token sequences. Minimums are the figures to compare on a busy machine.
//   UV_THREADPOOL_SIZE=1 node --import tsx scripts/profile-sampling.ts
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import {
  createNativeSampler,
  nativeContext,
  type BatchLogitIndex,
  type NativeSamplerConfig,
} from "../src/engine/llama/native.js";
import { ensureBuiltinModel } from "../src/models/builtin.js";

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: await ensureBuiltinModel("tiny") });
const context = await model.createContext({ sequences: 8, contextSize: 512, batchSize: 512, threads: 2 });
const native = nativeContext(context);
const prompt = Uint32Array.from(model.tokenize("The quick brown fox jumps over the lazy dog.", false));

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]!.toFixed(3)} ms, p50 ${s[Math.floor(s.length / 2)]!.toFixed(3)} ms`;
}

native.initBatch(prompt.length);
const [index] = native.addToBatch(0, 0, prompt, Uint32Array.of(prompt.length - 1));
await native.decodeBatch();
const configs: [string, NativeSamplerConfig][] = [
  ["greedy (argmax)", {}],
  ["temperature 1, full vocabulary (lavash's OpenAI default)", { temperature: 1, seed: 1 }],
  ["temperature 1, top-k 40 (llama-server's default chain start)", { temperature: 1, topK: 40, seed: 1 }],
  ["temperature 1, top-p 0.95", { temperature: 1, topP: 0.95, seed: 1 }],
];
for (const [name, config] of configs) {
  const sampler = createNativeSampler(llama, model, config);
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    await native.sampleToken(index as BatchLogitIndex, sampler);
    times.push(performance.now() - t0);
  }
  sampler.dispose();
  console.log(`sampleToken, ${name}: ${stats(times)}`);
}
// A sync native call for comparison: the crossing itself, without the worker thread.
{
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    native.getContextSize();
    times.push(performance.now() - t0);
  }
  console.log(`a synchronous native call: ${stats(times)}`);
}
for (const n of [1, 8]) {
  for (let s = 0; s < n; s++) native.removeTokenCellsFromSequence(s, 0, -1);
  native.initBatch(prompt.length * n);
  for (let s = 0; s < n; s++) native.addToBatch(s, 0, prompt, Uint32Array.of(prompt.length - 1));
  await native.decodeBatch();
  const times: number[] = [];
  for (let i = 0; i < 100; i++) {
    native.initBatch(n);
    for (let s = 0; s < n; s++) native.addToBatch(s, prompt.length + i, Uint32Array.of(15), Uint32Array.of(0));
    const t0 = performance.now();
    await native.decodeBatch();
    times.push(performance.now() - t0);
  }
  console.log(`decodeBatch of ${n} one-token sequences: ${stats(times)}`);
}
await context.dispose();
await model.dispose();
await llama.dispose();
