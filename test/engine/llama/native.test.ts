// Pins the node-llama-cpp internals the scheduler drives (src/engine/llama/native.ts), and the
// streaming detokenizer against llama.cpp's own detokenization, on the real tiny model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import { createNativeSampler, nativeContext, type BatchLogitIndex } from "../../../src/engine/llama/native.js";
import { TokenTextDecoder } from "../../../src/engine/text/token-text-decoder.js";
import { useTinyModel } from "../../helpers/tiny-model.js";

const tiny = useTinyModel();

async function generate(sequences: number, seeds: number[], steps: number, lockstep: boolean): Promise<Token[][]> {
  const context = await tiny.model.createContext({ sequences, contextSize: 256, batchSize: 64, threads: 2 });
  const native = nativeContext(context);
  const prompt = tiny.model.tokenize("The quick brown fox");
  const samplers = seeds.map((seed) => createNativeSampler(tiny.llama, tiny.model, { temperature: 1, seed }));
  const out: Token[][] = seeds.map(() => []);
  const decodeOnce = async (ids: number[], inputs: Token[][], positions: number[]): Promise<Token[]> => {
    native.initBatch(inputs.reduce((n, t) => n + t.length, 0));
    const idx = ids.map(
      (id, i) =>
        native.addToBatch(id, positions[i]!, Uint32Array.from(inputs[i]!), Uint32Array.of(inputs[i]!.length - 1))[0]!,
    );
    await native.decodeBatch();
    return Promise.all(
      ids.map((id, i) => native.sampleToken(idx[i] as BatchLogitIndex, samplers[id]!) as Promise<Token>),
    );
  };
  const all = seeds.map((_, i) => i);
  if (lockstep) {
    let next = await decodeOnce(
      all,
      all.map(() => prompt),
      all.map(() => 0),
    );
    for (let step = 1; step <= steps; step++) {
      next.forEach((t, i) => out[i]!.push(t));
      next = await decodeOnce(
        all,
        next.map((t) => [t]),
        all.map(() => prompt.length + step - 1),
      );
    }
  } else {
    for (const id of all) {
      let [t] = await decodeOnce([id], [prompt], [0]);
      for (let step = 1; step <= steps; step++) {
        out[id]!.push(t!);
        [t] = await decodeOnce([id], [[t!]], [prompt.length + step - 1]);
      }
    }
  }
  samplers.forEach((s) => s.dispose());
  await context.dispose();
  return out;
}

describe("node-llama-cpp internals used by the scheduler", () => {
  it("samples the same tokens for a seed whether sequences decode alone or batched together", async () => {
    const batched = await generate(3, [11, 22, 33], 12, true);
    const alone = await generate(3, [11, 22, 33], 12, false);
    assert.deepEqual(batched, alone);
    assert.notDeepEqual(batched[0], batched[1]);
  });

  it("samples from the full distribution without top-k when topK is absent", async () => {
    // With the JS layer's default top-k of 40, 200 draws from one position could show at most 40
    // distinct tokens; a random-weight model's near-uniform distribution shows far more.
    const context = await tiny.model.createContext({ sequences: 1, contextSize: 64, batchSize: 16, threads: 2 });
    const native = nativeContext(context);
    native.initBatch(1);
    const [idx] = native.addToBatch(0, 0, Uint32Array.of(tiny.model.tokenize("Hi")[0]!), Uint32Array.of(0));
    await native.decodeBatch();
    const seen = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const sampler = createNativeSampler(tiny.llama, tiny.model, { temperature: 1, seed });
      seen.add(await native.sampleToken(idx as BatchLogitIndex, sampler));
      sampler.dispose();
    }
    await context.dispose();
    assert.ok(seen.size > 60, `only ${seen.size} distinct tokens in 200 draws`);
  });

  it("removes a suffix of a sequence's KV cache", async () => {
    const context = await tiny.model.createContext({ sequences: 1, contextSize: 64, batchSize: 16, threads: 2 });
    const native = nativeContext(context);
    const tokens = tiny.model.tokenize("one two three four");
    native.initBatch(tokens.length);
    native.addToBatch(0, 0, Uint32Array.from(tokens), new Uint32Array(0));
    await native.decodeBatch();
    assert.equal(native.removeTokenCellsFromSequence(0, 2, -1), true);
    await context.dispose();
  });
});

describe("TokenTextDecoder with tiny.llama.cpp's detokenizer", () => {
  it("streams CJK, emoji and ZWJ sequences token by token without U+FFFD", () => {
    const samples = [
      "你好，世界！今日は良い天気です。",
      "emoji 🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇯🇵",
      "mixed: café ñandú Ελληνικά ☃︎ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ];
    for (const text of samples) {
      const tokens = tiny.model.tokenize(text);
      // The sample must really exercise split characters: some single token detokenizes to U+FFFD.
      const split = tokens.some((t) => tiny.model.detokenize([t]).includes("\uFFFD"));
      const decoder = new TokenTextDecoder<Token>((ts) => tiny.model.detokenize(ts));
      const pieces = tokens.map((t) => decoder.push(t));
      pieces.push(decoder.flush());
      assert.equal(pieces.join(""), text);
      assert.ok(
        pieces.every((p) => !p.includes("\uFFFD")),
        `a piece of ${JSON.stringify(text)} held U+FFFD`,
      );
      if (text.includes("🎉")) assert.ok(split, "expected the emoji sample to split characters across tokens");
    }
  });
});
