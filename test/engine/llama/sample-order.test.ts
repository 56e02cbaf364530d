// After a long decode, the rows whose sample is their sequence's last token are sampled first, one
// at a time, and the rest concurrently: a free core then writes the finished answers and reads the
// requests that follow. After a short one all are sampled at once. On the real tiny model, whose
// decodes are short: the tests set the threshold (0 ms: every decode counts as long). The
// scheduler's native sampleToken is wrapped to record when each call is made and returns.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import { useTinyModel } from "../../helpers/tiny-model.js";
import { drain, plainJob, tinyScheduler } from "../../helpers/tiny-scheduler.js";

const tiny = useTinyModel();

/** End-of-generation tokens, banned so that every request runs to its max_tokens on any CPU. */
function endOfGenerationBias(): { tokenBiasKeys: Uint32Array; tokenBiasValues: Float32Array } {
  const size = tiny.model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  const eog = Array.from({ length: size }, (_, t) => t).filter((t) => tiny.model.isEogToken(t as Token));
  assert.ok(eog.length > 0);
  return { tokenBiasKeys: Uint32Array.from(eog), tokenBiasValues: new Float32Array(eog.length).fill(-Infinity) };
}

type Step = "call" | "return";

/**
 * Runs jobs submitted together (one tick admits them all) and returns each tick's sampleToken
 * calls and returns, in order, for the ticks that sampled anything.
 */
async function sampleSteps(
  specs: { prompt: string; maxTokens: number }[],
  serialEndingsAfterMs = 0,
): Promise<Step[][]> {
  const ticks: Step[][] = [];
  const { scheduler, close } = await tinyScheduler(tiny, {
    parallel: specs.length,
    prefillChunk: 512,
    maxQueue: 8,
    serialEndingsAfterMs,
    onTick: () => ticks.push([]),
  });
  // The native context is the addon's object, whose methods are read-only: wrap it in a proxy.
  const holder = scheduler as unknown as { native: object };
  const native = holder.native as Record<string | symbol, unknown>;
  holder.native = new Proxy(native, {
    get(target, property) {
      const value = target[property];
      if (typeof value !== "function") return value;
      if (property !== "sampleToken") return value.bind(target);
      return async (...args: unknown[]) => {
        ticks.at(-1)?.push("call");
        const token = await value.apply(target, args);
        ticks.at(-1)?.push("return");
        return token;
      };
    },
  });
  const bias = endOfGenerationBias();
  const jobs = specs.map(({ prompt, maxTokens }) =>
    plainJob(tiny.model.tokenize(prompt, false), maxTokens, { samplers: [{ temperature: 1, seed: 7, ...bias }] }),
  );
  for (const j of jobs) scheduler.submit(j);
  await Promise.all(jobs.map(drain));
  await close();
  return ticks.filter((steps) => steps.length > 0);
}

const serial = (n: number): Step[] => Array.from({ length: n }, () => ["call", "return"] as Step[]).flat();

describe("sampling order after a decode", () => {
  it("samples requests that end with this token one at a time after a long decode", async () => {
    const ticks = await sampleSteps([
      { prompt: "The quick brown fox", maxTokens: 1 },
      { prompt: "Once upon a time", maxTokens: 1 },
      { prompt: "Seven green parrots", maxTokens: 1 },
    ]);
    assert.deepEqual(ticks, [serial(3)]);
  });

  it("samples the ending row alone first, then the others together", async () => {
    const ticks = await sampleSteps([
      { prompt: "The quick brown fox", maxTokens: 2 },
      { prompt: "Once upon a time", maxTokens: 5 },
      { prompt: "Seven green parrots", maxTokens: 5 },
    ]);
    assert.equal(ticks.length, 5, JSON.stringify(ticks));
    // First tick: nobody ends, three samples in flight at once.
    assert.deepEqual(ticks[0], ["call", "call", "call", "return", "return", "return"]);
    // Second: the first request's last token alone, then the two others together.
    assert.deepEqual(ticks[1], ["call", "return", "call", "call", "return", "return"]);
    // Third and fourth: two streams going on; fifth: both end, one after the other.
    assert.deepEqual(ticks[2], ["call", "call", "return", "return"]);
    assert.deepEqual(ticks[3], ["call", "call", "return", "return"]);
    assert.deepEqual(ticks[4], serial(2));
  });

  it("samples every row at once after a decode shorter than the threshold", async () => {
    const ticks = await sampleSteps(
      [
        { prompt: "The quick brown fox", maxTokens: 1 },
        { prompt: "Once upon a time", maxTokens: 1 },
      ],
      Number.POSITIVE_INFINITY,
    );
    assert.deepEqual(ticks, [["call", "call", "return", "return"]]);
  });
});
