// The compute threads of single-token decodes: the tuner's decisions on given decode times, and the
// assumption it rests on, that llama.cpp computes the same numbers with one compute thread or two
// (a seeded request through the real scheduler gives the same tokens and logprobs either way).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import { EventChannel } from "../../../src/engine/event-channel.js";
import { ContextScheduler, type DecodeThreads } from "../../../src/engine/llama/scheduler.js";
import { newJob } from "../../../src/engine/llama/sequence.js";
import { ThreadTuner } from "../../../src/engine/llama/thread-tuner.js";
import { TokenPieces } from "../../../src/engine/llama/token-pieces.js";
import type { GenerationEvent } from "../../../src/engine/types.js";
import { useTinyModel } from "../../helpers/tiny-model.js";

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

  it("leaves long decodes, batches and a single thread alone", () => {
    const model = new ThreadTuner(2);
    // A real model's single-token decode: one thread is never tried.
    assert.deepEqual([...new Set(drive(model, 500, (t) => (t === 2 ? 21 : 38)))], [2]);
    const small = new ThreadTuner(2);
    assert.deepEqual([...new Set(drive(small, 500, (t) => (t === 1 ? 1 : 10), 4))], [2], "batches get every thread");
    assert.deepEqual([...new Set(drive(new ThreadTuner(1), 50, () => 1))], [1]);
  });
});

describe("decodes with one thread or two", () => {
  const tiny = useTinyModel();

  /** A seeded 24-token generation with logprobs, each decode's threads picked by `threads`. */
  async function generate(threads: DecodeThreads): Promise<{ tokens: number[]; logprobs: number[] }> {
    const context = await tiny.model.createContext({ sequences: 1, contextSize: 256, batchSize: 64, threads: 2 });
    const scheduler = new ContextScheduler(tiny.llama, tiny.model, context, new TokenPieces(tiny.model), "tiny", {
      parallel: 1,
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      prefillChunk: 64,
      maxQueue: 4,
      threads,
    });
    const job = newJob(
      {
        promptTokens: tiny.model.tokenize(
          "The quick brown fox jumps over the lazy dog. Once upon a time,",
          false,
        ) as Token[],
        maxTokens: 24,
        stop: [],
        samplers: [{ temperature: 1, seed: 7 }],
        logprobs: 2,
        scoreChoices: false,
        echo: false,
        reproducible: true,
        channel: new EventChannel<GenerationEvent>(() => {}),
      },
      1,
    );
    scheduler.submit(job);
    const tokens: number[] = [];
    const logprobs: number[] = [];
    for await (const event of job.channel) {
      if (event.type !== "text") continue;
      for (const entry of event.logprobs ?? []) {
        tokens.push(entry.token);
        logprobs.push(entry.logprob);
      }
    }
    await scheduler.close();
    await context.dispose();
    return { tokens, logprobs };
  }

  it("gives the same tokens and logprobs", async () => {
    const fixed = (n: number): DecodeThreads => ({ choose: () => n, record: () => {} });
    let decodes = 0;
    const alternating: DecodeThreads = { choose: () => (decodes++ % 2 === 0 ? 1 : 2), record: () => {} };
    const two = await generate(fixed(2));
    const one = await generate(fixed(1));
    const mixed = await generate(alternating);
    assert.equal(two.tokens.length, 24);
    assert.deepEqual(one, two);
    assert.deepEqual(mixed, two);
    assert.ok(decodes > 20, `${decodes} decodes alternated`);
  });
});
