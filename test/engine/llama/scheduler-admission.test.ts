// Admission and prefill progress of the scheduler on the real tiny model, read from its tick
// reports: requests that arrive together start in the same decode, and no prefilling sequence
// waits while others decode (issue 12: with an allowance of one token a prompt with two tokens
// left never advanced, and a paced allowance went to one prompt at a time).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "node-llama-cpp";
import type { ContextScheduler, SchedulerOptions, TickReport } from "../../../src/engine/llama/scheduler.js";
import type { Job } from "../../../src/engine/llama/sequence.js";
import { useTinyModel } from "../../helpers/tiny-model.js";
import { drain, plainJob, tinyScheduler } from "../../helpers/tiny-scheduler.js";

const tiny = useTinyModel();

/** Token ids 15..24 are the digits 0..9 in the Qwen vocabulary: biased up, no end-of-text can end a stream early. */
const DIGITS = Uint32Array.from({ length: 10 }, (_, i) => 15 + i);

interface Harness {
  scheduler: ContextScheduler;
  ticks: TickReport[];
  /** Runs `fn` inside the next tick, before its decode: what it submits arrives while a decode runs. */
  duringNextTick(fn: () => void): void;
  close(): Promise<void>;
}

async function harness(options: Pick<SchedulerOptions, "parallel" | "prefillChunk" | "arriving">): Promise<Harness> {
  const ticks: TickReport[] = [];
  let hooks: (() => void)[] = [];
  const { scheduler, close } = await tinyScheduler(tiny, {
    ...options,
    maxQueue: 64,
    onTick: (tick) => {
      ticks.push(tick);
      const run = hooks;
      hooks = [];
      for (const fn of run) fn();
    },
  });
  return { scheduler, ticks, duringNextTick: (fn) => hooks.push(fn), close };
}

function job(promptTokens: readonly Token[], maxTokens: number): Job {
  return plainJob(promptTokens, maxTokens, {
    samplers: [{ tokenBiasKeys: DIGITS, tokenBiasValues: new Float32Array(DIGITS.length).fill(100) }],
  });
}

function prompt(text: string): Token[] {
  return tiny.model.tokenize(text, false);
}

/** The tick (index into ticks) in which each slot's prompt was completed, in completion order. */
function promptEnds(ticks: readonly TickReport[]): { tick: number; slot: number }[] {
  const out: { tick: number; slot: number }[] = [];
  ticks.forEach((t, tick) => {
    for (const p of t.prefills) if (p.evaluated === p.remaining) out.push({ tick, slot: p.slot });
  });
  return out;
}

/** Ticks in which a sequence with prompt left got nothing although the batch had room. */
function starved(ticks: readonly TickReport[]): TickReport[] {
  return ticks.filter((t) => t.decoding > 0 && t.room > 0 && t.prefills.some((p) => p.evaluated === 0));
}

const users = [
  "What is the capital of France?",
  "Tell me a joke about cats.",
  "Count from one to ten, please.",
  "Why is the sky blue?",
  "Name three prime numbers.",
  "Describe a rainbow in one line.",
  "What do bees make?",
  "Translate hello into Spanish.",
];

describe("scheduler admission and prefill progress", () => {
  it("starts requests sent in the same event-loop turn in one decode", async () => {
    const h = await harness({ parallel: 8, prefillChunk: "auto" });
    const jobs = users.map((u) => job(prompt(u), 4));
    // The first arrives alone; the rest a few callbacks later, as HTTP requests do.
    h.scheduler.submit(jobs[0]!);
    setImmediate(() => jobs.slice(1).forEach((j) => h.scheduler.submit(j)));
    await Promise.all(jobs.map(drain));
    await h.close();
    const first = h.ticks[0]!;
    assert.equal(first.prefills.length, 8, `first decode: ${JSON.stringify(first)}`);
    assert.ok(first.prefills.every((p) => p.evaluated === p.remaining));
  });

  it("waits for requests the server is still reading, so they start in the first decode too", async () => {
    let reading = 3;
    const h = await harness({ parallel: 8, prefillChunk: "auto", arriving: () => reading });
    const jobs = users.slice(0, 4).map((u) => job(prompt(u), 4));
    // One submitted now, the others 2, 4 and 6 ms later, each leaving the server's count.
    h.scheduler.submit(jobs[0]!);
    jobs.slice(1).forEach((j, i) =>
      setTimeout(
        () => {
          reading--;
          h.scheduler.submit(j);
        },
        2 * (i + 1),
      ),
    );
    await Promise.all(jobs.map(drain));
    await h.close();
    assert.equal(h.ticks[0]!.prefills.length, 4, `first decode: ${JSON.stringify(h.ticks[0])}`);
  });

  it("waits a bounded time for requests that never arrive", async () => {
    const h = await harness({ parallel: 8, prefillChunk: "auto", arriving: () => 1 });
    const started = performance.now();
    const lone = job(prompt(users[0]!), 1);
    h.scheduler.submit(lone);
    await drain(lone);
    const took = performance.now() - started;
    await h.close();
    assert.equal(h.ticks[0]!.prefills.length, 1);
    // The wait is at most 12 ms; the decode and sample of one short prompt take a few more.
    assert.ok(took < 1000, `a lone request waited ${took.toFixed(0)} ms`);
  });

  it("starts every request that arrives during a decode in the next decode", async () => {
    const h = await harness({ parallel: 8, prefillChunk: "auto" });
    const jobs = users.map((u) => job(prompt(u), 6));
    h.scheduler.submit(jobs[0]!);
    h.duringNextTick(() => jobs.slice(1).forEach((j) => h.scheduler.submit(j)));
    await Promise.all(jobs.map(drain));
    await h.close();
    const second = h.ticks[1]!;
    assert.equal(second.decoding, 1);
    assert.equal(second.prefills.length, 7);
    assert.ok(
      second.prefills.every((p) => p.evaluated === p.remaining),
      `second decode: ${JSON.stringify(second)}`,
    );
    assert.deepEqual(starved(h.ticks), []);
  });

  it("advances every prefill on every tick while four sequences decode (allowance of one token)", async () => {
    const h = await harness({ parallel: 8, prefillChunk: 1 });
    const streams = users.slice(0, 4).map((u) => job(prompt(u), 300));
    streams.forEach((j) => h.scheduler.submit(j));
    const base = prompt(users.join(" ").repeat(3));
    const lengths = [3, 9, 30, 120];
    const late = lengths.map((n, i) => job([...prompt(`Request ${i}:`), ...base].slice(0, n), 4));
    h.duringNextTick(() => h.duringNextTick(() => late.forEach((j) => h.scheduler.submit(j))));
    await Promise.all(late.map(drain));
    const lateEnds = promptEnds(h.ticks).filter((e) => e.tick >= 2);
    streams.forEach((j) => (j.cancelled = true));
    h.scheduler.wakeUp();
    await Promise.all(streams.map(drain));
    await h.close();
    assert.deepEqual(starved(h.ticks), [], "a prefilling sequence got no tokens while the batch had room");
    assert.equal(lateEnds.length, 4);
    // The short ones (whole remainders) start in the next decode; the long one advances every tick.
    assert.deepEqual(lateEnds.filter((e) => e.tick === 2).length, 3, JSON.stringify(lateEnds));
    for (const t of h.ticks.slice(2)) for (const p of t.prefills) assert.ok(p.evaluated >= Math.min(2, p.remaining));
  });

  it("lays every batch out by sequence, whatever order the requests came in (one llama.cpp ubatch)", async () => {
    const h = await harness({ parallel: 3, prefillChunk: "auto" });
    const [first, second, third] = [job(prompt(users[0]!), 2), job(prompt(users[1]!), 40), job(prompt(users[2]!), 40)];
    [first, second, third].forEach((j) => h.scheduler.submit(j!));
    await drain(first!);
    // The only free sequence is the first request's: the latest request gets the lowest id.
    const late = job(prompt(users[3]!), 4);
    h.scheduler.submit(late);
    await Promise.all([second, third, late].map((j) => drain(j!)));
    await h.close();
    assert.deepEqual(
      h.ticks[0]!.prefills.map((p) => p.slot),
      [0, 1, 2],
    );
    const withLate = h.ticks.filter((t) => t.prefills.some((p) => p.slot === 0));
    assert.equal(withLate.length, 2, "the first request's prompt, then the late one's");
    assert.deepEqual(withLate[1]!.layout, [0, 1, 2], "the late request (sequence 0) first, before the older two");
    for (const t of h.ticks)
      assert.deepEqual(
        t.layout,
        [...t.layout].sort((a, b) => a - b),
      );
  });

  it("starts a request in the free sequence between running ones, so the batch stays one run of ids", async () => {
    const h = await harness({ parallel: 4, prefillChunk: "auto" });
    const lengths = [2, 40, 4, 40];
    const jobs = lengths.map((n, i) => job(prompt(users[i]!), n));
    jobs.forEach((j) => h.scheduler.submit(j));
    await drain(jobs[0]!);
    await drain(jobs[2]!);
    // Sequences 0 and 2 are free, 0 the longer: 2 (between 1 and 3) keeps the batch one run.
    const late = job(prompt(users[4]!), 4);
    h.scheduler.submit(late);
    await Promise.all([jobs[1], jobs[3], late].map((j) => drain(j!)));
    await h.close();
    assert.deepEqual(
      h.ticks[0]!.prefills.map((p) => p.slot),
      [0, 1, 2, 3],
    );
    const lateTick = h.ticks.findLast((t) => t.prefills.length > 0);
    assert.deepEqual(
      lateTick?.prefills.map((p) => p.slot),
      [2],
    );
    assert.deepEqual(lateTick?.layout, [1, 2, 3]);
  });

  for (const prefillChunk of [1, "auto"] as const)
    it(`serves eight chats one at a time, then eight at once: all start within two decodes (prefill chunk ${prefillChunk})`, async () => {
      const h = await harness({ parallel: 8, prefillChunk });
      const system = prompt(
        `<|im_start|>system\nYou are a helpful assistant. ${"Answer briefly and precisely. ".repeat(12)}<|im_end|>\n`,
      );
      const chat = (u: string): Token[] => [
        ...system,
        ...prompt(`<|im_start|>user\n${u}<|im_end|>\n<|im_start|>assistant\n`),
      ];
      for (const u of users) {
        const j = job(chat(u), 8);
        h.scheduler.submit(j);
        await drain(j);
      }
      const from = h.ticks.length;
      // Reversed order: each prompt's cached prefix is in another sequence, so the remainders differ.
      const jobs = [...users].reverse().map((u) => job(chat(`${u} Again.`), 12));
      jobs.slice(0, 4).forEach((j) => h.scheduler.submit(j));
      h.duringNextTick(() => jobs.slice(4).forEach((j) => h.scheduler.submit(j)));
      await Promise.all(jobs.map(drain));
      await h.close();
      const ticks = h.ticks.slice(from);
      const ends = promptEnds(ticks);
      assert.equal(ends.length, 8);
      assert.ok(
        ends.every((e) => e.tick <= 1),
        `prompt ends by tick: ${JSON.stringify(ends)}`,
      );
      assert.deepEqual(starved(ticks), []);
    });
});
