// A sampler handed out again by the pool draws exactly what a new sampler with the same
// configuration draws (same seed, penalties, bias), on the real tiny model: pooling must not leak
// one generation's RNG or penalty history into the next.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LlamaContext, Token } from "node-llama-cpp";
import {
  type BatchLogitIndex,
  configureSampler,
  createNativeSampler,
  type NativeContext,
  type NativeSampler,
  type NativeSamplerConfig,
  nativeContext,
} from "../../../src/engine/llama/native.js";
import { SamplerPool } from "../../../src/engine/llama/sampler-pool.js";
import { useTinyModel } from "../../helpers/tiny-model.js";

const tiny = useTinyModel();
let context: LlamaContext;
let native: NativeContext;
let logits: BatchLogitIndex;
before(async () => {
  await tiny.loaded;
  context = await tiny.model.createContext({ sequences: 1, contextSize: 256, batchSize: 64, threads: 2 });
  native = nativeContext(context);
  const prompt = Uint32Array.from(tiny.model.tokenize("The quick brown fox"));
  native.initBatch(prompt.length);
  logits = native.addToBatch(0, 0, prompt, Uint32Array.of(prompt.length - 1))[0] as BatchLogitIndex;
  await native.decodeBatch();
});
after(async () => {
  await context?.dispose();
});

/** Draws from the same logits: each draw advances the RNG and, with penalties, the history. */
async function draws(sampler: NativeSampler, count = 24): Promise<Token[]> {
  const out: Token[] = [];
  for (let i = 0; i < count; i++) out.push((await native.sampleToken(logits, sampler)) as Token);
  return out;
}

async function fresh(config: NativeSamplerConfig): Promise<Token[]> {
  const sampler = createNativeSampler(tiny.llama, tiny.model, config);
  try {
    return await draws(sampler);
  } finally {
    sampler.dispose();
  }
}

const seeded: NativeSamplerConfig = { temperature: 1, seed: 7 };
const penalised: NativeSamplerConfig = {
  temperature: 0.8,
  topP: 0.9,
  seed: 7,
  repeatPenalty: 1,
  repeatPenaltyPresencePenalty: 1.5,
  repeatPenaltyFrequencyPenalty: 0.5,
  repeatPenaltyTokens: new Uint32Array(0),
  repeatPenaltyMaxTokens: 24,
};
const biased: NativeSamplerConfig = {
  temperature: 1,
  seed: 7,
  tokenBiasKeys: Uint32Array.of(1, 2, 3),
  tokenBiasValues: Float32Array.of(4, 4, -Infinity),
};

describe("SamplerPool", () => {
  it("the addon keeps a repeated seed's RNG state: reconfiguring alone would leak it", async () => {
    const sampler = createNativeSampler(tiny.llama, tiny.model, seeded);
    try {
      const first = await draws(sampler);
      configureSampler(sampler, seeded);
      assert.notDeepEqual(await draws(sampler), first);
    } finally {
      sampler.dispose();
    }
  });

  it("a reused sampler draws what a new one draws, whatever the previous generation used", async () => {
    const pool = new SamplerPool(tiny.llama, tiny.model, 1);
    try {
      const first = pool.acquire(seeded);
      await draws(first);
      pool.release(first);
      for (const config of [seeded, penalised, penalised, biased, seeded]) {
        const sampler = pool.acquire(config);
        assert.equal(sampler, first, "the pool hands out the sampler it kept");
        assert.deepEqual(await draws(sampler), await fresh(config));
        pool.release(sampler);
      }
    } finally {
      pool.dispose();
    }
  });

  it("keeps at most its bound and builds new samplers beyond it", async () => {
    const pool = new SamplerPool(tiny.llama, tiny.model, 1);
    try {
      const a = pool.acquire(seeded);
      const b = pool.acquire(seeded);
      assert.notEqual(a, b);
      pool.release(a);
      pool.release(b);
      assert.equal(pool.acquire(seeded), a);
      const c = pool.acquire(seeded);
      assert.notEqual(c, b);
      c.dispose();
      a.dispose();
    } finally {
      pool.dispose();
    }
  });
});
