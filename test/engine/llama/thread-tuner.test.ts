// The compute threads of single-token decodes: the tuner's decisions on given decode times, and the
// assumption it rests on, that llama.cpp computes the same numbers with one compute thread or two
// (a seeded request through the real scheduler gives the same tokens and logprobs either way).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DecodeThreads } from "../../../src/engine/llama/scheduler.js";
import { MAX_TUNED_TOKENS, ThreadTuner } from "../../../src/engine/llama/thread-tuner.js";
import { useTinyModel } from "../../helpers/tiny-model.js";
import { plainJob, tinyScheduler } from "../../helpers/tiny-scheduler.js";

/** Runs `decodes` decodes of `tokens` tokens; `ms(threads, i)` is how long decode i takes. Returns the threads used. */
function drive(tuner: ThreadTuner, decodes: number, ms: (threads: number, i: number) => number, tokens = 1): number[] {
  const used: number[] = [];
  for (let i = 0; i < decodes; i++) {
    const threads = tuner.choose(tokens);
    used.push(threads);
    tuner.record(tokens, threads, ms(threads, i));
  }
  return used;
}

const ones = (used: readonly number[]): number => used.filter((t) => t === 1).length;

describe("ThreadTuner", () => {
  it("keeps both threads while they are faster, trying one thread ever more rarely", () => {
    const tuner = new ThreadTuner(2);
    const used = drive(tuner, 3000, (t) => (t === 2 ? 1.5 : 2.6));
    assert.equal(tuner.threads(), 2);
    assert.ok(ones(used) > 0 && ones(used) <= 24, `one thread in ${ones(used)} of 3000 decodes`);
    assert.ok(ones(used.slice(2000)) <= 4);
  });

  it("moves to one thread while two stall, and back when the stalls stop", () => {
    const tuner = new ThreadTuner(2);
    // 300 good decodes, then 300 in which every fourth two-thread decode stalls for 30 ms, then good again.
    const stalling = (i: number) => i >= 300 && i < 600;
    const used = drive(tuner, 3000, (t, i) => (t === 1 ? 2.6 : stalling(i) && i % 4 === 0 ? 30 : 1.5));
    assert.equal(used[299], 2);
    const during = used.slice(330, 600);
    assert.ok(ones(during) > during.length * 0.7, `one thread in ${ones(during)} of ${during.length} stalling decodes`);
    assert.equal(tuner.threads(), 2, "back on two threads after the stalls");
  });

  it("starts on one thread when two stall from the first decode", () => {
    const tuner = new ThreadTuner(2);
    const used = drive(tuner, 200, (t, i) => (t === 1 ? 2.6 : i % 3 === 0 ? 30 : 1.5));
    assert.ok(ones(used.slice(40)) > 120, `one thread in ${ones(used.slice(40))} of 160 decodes`);
  });

  it("stays on when stalls make the first windows of both settings slow", () => {
    const tuner = new ThreadTuner(2);
    // Every second two-thread decode stalls (window mean ~16 ms); one thread takes a steady 6 ms.
    const used = drive(tuner, 400, (t, i) => (t === 1 ? 6 : i % 2 === 0 ? 30 : 1.5));
    assert.ok(ones(used.slice(100)) > 250, `one thread in ${ones(used.slice(100))} of 300 decodes`);
  });

  it("tunes each short decode size on its own", () => {
    const tuner = new ThreadTuner(2);
    // Single tokens decode faster with two threads; three-token decodes (max_tokens=1 requests
    // arriving while the main thread answers others) stall with two.
    const used: Record<number, number[]> = { 1: [], 3: [] };
    for (let i = 0; i < 600; i++) {
      const tokens = i % 2 === 0 ? 1 : 3;
      const threads = tuner.choose(tokens);
      used[tokens]!.push(threads);
      tuner.record(tokens, threads, tokens === 1 ? (threads === 2 ? 1.5 : 2.6) : threads === 2 ? 9 : 3.5);
    }
    assert.equal(tuner.threads(1), 2);
    assert.equal(tuner.threads(3), 1);
    assert.ok(ones(used[3]!.slice(100)) > 180, `one thread in ${ones(used[3]!.slice(100))} of 200 three-token decodes`);
    assert.ok(ones(used[1]!) <= 16, `one thread in ${ones(used[1]!)} of 300 single-token decodes`);
  });

  it("leaves long decodes, large batches and a single thread alone", () => {
    const model = new ThreadTuner(2);
    // A real model's decodes: one thread is never tried, for single tokens or short batches.
    assert.deepEqual([...new Set(drive(model, 500, (t) => (t === 2 ? 21 : 38)))], [2]);
    assert.deepEqual([...new Set(drive(model, 500, (t) => (t === 2 ? 30 : 55), 4))], [2]);
    const small = new ThreadTuner(2);
    assert.deepEqual(
      [...new Set(drive(small, 500, (t) => (t === 1 ? 1 : 10), MAX_TUNED_TOKENS + 1))],
      [2],
      "larger batches get every thread",
    );
    assert.deepEqual([...new Set(drive(new ThreadTuner(1), 50, () => 1))], [1]);
    assert.deepEqual([...new Set(drive(new ThreadTuner(1), 50, () => 1, 3))], [1]);
  });
});

describe("decodes with one thread or two", () => {
  const tiny = useTinyModel();

  const prompts = [
    "The quick brown fox jumps over the lazy dog. Once upon a time,",
    "In a hole in the ground there lived",
  ];

  /**
   * Seeded 24-token generations with logprobs, one per prompt of `count`, run together (so their
   * tokens share decodes), each decode's threads picked by `threads`.
   */
  async function generate(threads: DecodeThreads, count: number): Promise<{ tokens: number[]; logprobs: number[] }[]> {
    const { scheduler, close } = await tinyScheduler(tiny, {
      parallel: count,
      contextSize: 256,
      batchSize: 64,
      prefillChunk: 64,
      maxQueue: 4,
      threads,
    });
    const jobs = prompts
      .slice(0, count)
      .map((prompt, i) =>
        plainJob(tiny.model.tokenize(prompt, false), 24, { samplers: [{ temperature: 1, seed: 7 + i }], logprobs: 2 }),
      );
    for (const job of jobs) scheduler.submit(job);
    const results = await Promise.all(
      jobs.map(async (job) => {
        const tokens: number[] = [];
        const logprobs: number[] = [];
        for await (const event of job.channel) {
          if (event.type !== "text") continue;
          for (const entry of event.logprobs ?? []) {
            tokens.push(entry.token);
            logprobs.push(entry.logprob);
          }
        }
        return { tokens, logprobs };
      }),
    );
    await close();
    return results;
  }

  /** Each decode's threads from `pick`; the sizes of the decodes it was asked about are kept in `sizes`. */
  function threadsBy(pick: () => number, sizes: number[] = []): DecodeThreads {
    return {
      choose: (tokens) => {
        sizes.push(tokens);
        return pick();
      },
      record: () => {},
    };
  }

  for (const count of [1, 2]) {
    it(`gives the same tokens and logprobs (${count} sequence${count > 1 ? "s" : ""} a decode)`, async () => {
      let decodes = 0;
      const sizes: number[] = [];
      const two = await generate(
        threadsBy(() => 2),
        count,
      );
      const one = await generate(
        threadsBy(() => 1),
        count,
      );
      const mixed = await generate(
        threadsBy(() => (decodes++ % 2 === 0 ? 1 : 2), sizes),
        count,
      );
      for (const result of two) assert.equal(result.tokens.length, 24);
      assert.deepEqual(one, two);
      assert.deepEqual(mixed, two);
      assert.ok(decodes > 20, `${decodes} decodes alternated`);
      assert.ok(
        sizes.filter((tokens) => tokens === count).length > 20,
        `decodes of ${count} tokens: ${sizes.join(",")}`,
      );
    });
  }
});
