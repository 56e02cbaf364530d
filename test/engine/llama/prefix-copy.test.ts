// When a new prompt's prefix is held by another sequence, the scheduler copies that sequence's
// state in only if the prefix is long enough for the context size: with a KV stream per sequence
// llama.cpp copies the whole stream, every cell of the context, whatever the prefix's length. On
// the real tiny model; what a request reused is its cachedPromptTokens, and cachedPrefix() (the
// /v1/cache/match probe) must say the same before it starts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import type { ContextScheduler } from "../../../src/engine/llama/scheduler.js";
import { useTinyModel } from "../../helpers/tiny-model.js";
import { drain, plainJob, tinyScheduler } from "../../helpers/tiny-scheduler.js";

const tiny = useTinyModel();

/** Runs `prompt` to the end; returns what the probe said before it started and what it reused. */
async function run(scheduler: ContextScheduler, prompt: readonly Token[]): Promise<{ probed: number; reused: number }> {
  const probed = scheduler.cachedPrefix(prompt, false, true);
  const j = plainJob(prompt, 2);
  scheduler.submit(j);
  await drain(j);
  return { probed, reused: j.cachedPromptTokens };
}

/**
 * Three sequences, all free between requests: a long prompt, then one sharing its first 3 tokens,
 * then one sharing its first 12. Each later prompt takes the empty sequence (the held states are
 * worth more to their own prompts), so any reuse is a copy.
 */
async function scenario(
  contextSize: number,
): Promise<{ short: { probed: number; reused: number }; long: { probed: number; reused: number } }> {
  const { scheduler, close } = await tinyScheduler(tiny, { parallel: 3, contextSize, prefillChunk: 512, maxQueue: 8 });
  const base = tiny.model.tokenize(
    "The quick brown fox jumps over the lazy dog. Once upon a time, in a land far away, there lived a king.",
    false,
  );
  const other = tiny.model.tokenize(" Seven green parrots argued loudly about breakfast on the windowsill.", false);
  assert.ok(base.length >= 20, `${base.length} tokens`);
  assert.notEqual(other[0], base[3]);
  assert.notEqual(other[0], base[12]);
  await run(scheduler, base);
  const short = await run(scheduler, [...base.slice(0, 3), ...other]);
  const long = await run(scheduler, [...base.slice(0, 12), ...other]);
  await close();
  return { short, long };
}

describe("prefix copies between sequences", () => {
  it("copies a 3-token prefix at 1,024 cells a sequence, and a 12-token one", async () => {
    const { short, long } = await scenario(1024);
    assert.deepEqual(short, { probed: 3, reused: 3 });
    assert.deepEqual(long, { probed: 12, reused: 12 });
  });

  it("does not copy a 3-token prefix at 4,096 cells a sequence (4 at least), but still a 12-token one", async () => {
    const { short, long } = await scenario(4096);
    assert.deepEqual(short, { probed: 0, reused: 0 });
    assert.deepEqual(long, { probed: 12, reused: 12 });
  });
});
