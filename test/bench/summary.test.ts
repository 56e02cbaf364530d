import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseProcStatusBytes } from "../../src/bench/server-process.js";
import { analyzeStream, type SseEvent } from "../../src/bench/sse.js";
import {
  REFERENCE,
  schedulerDelta,
  summarize,
  summarizeLevel,
  summarizeOverhead,
  toRequestRecord,
  toRoundRecord,
  type LevelSummary,
  type RoundRecord,
} from "../../src/bench/summary.js";
import { fmt, formatTable, renderReport } from "../../src/bench/table.js";

/** A stream that starts at `start`, gets its first text after `ttft` ms, then one token per `itl` ms. */
function stream(start: number, ttft: number, itl: number, tokens: number) {
  const events: SseEvent[] = [];
  for (let i = 0; i < tokens; i++)
    events.push({
      data: JSON.stringify({ choices: [{ text: "x", finish_reason: i === tokens - 1 ? "length" : null }] }),
      at: start + ttft + i * itl,
    });
  const end = start + ttft + (tokens - 1) * itl;
  events.push(
    { data: JSON.stringify({ choices: [], usage: { completion_tokens: tokens } }), at: end },
    { data: "[DONE]", at: end },
  );
  return analyzeStream(events, start, end);
}

function round(concurrency: number, n: number, tokPerStreamMs: number): RoundRecord {
  const timings = Array.from({ length: concurrency }, (_, i) => stream(1000 + i, 100, tokPerStreamMs, 11));
  const records = timings.map((t, index) =>
    toRequestRecord(t, { concurrency, round: n, index, seed: index, roundStartedAt: 1000 }),
  );
  return toRoundRecord(concurrency, n, timings, records);
}

describe("bench summaries", () => {
  it("computes a round's aggregate throughput over its wall time", () => {
    const r = round(2, 1, 10);
    // 2 streams × 11 tokens; first start 1000, last end 1001 + 100 + 100.
    assert.equal(r.totalTokens, 22);
    assert.equal(r.wallMs, 201);
    assert.equal(r.aggregateTokPerS, Math.round((22_000 / 201) * 100) / 100);
    assert.equal(r.requests[1]!.startOffsetMs, 1);
    assert.equal(r.requests[0]!.ttftMs, 100);
    assert.equal(r.requests[0]!.decodeTokPerS, 100);
  });

  it("counts a round with a failed request as failed, without a throughput", () => {
    const ok = stream(0, 10, 10, 5);
    const bad = analyzeStream([], 0, 50, "HTTP 500: boom");
    const records = [ok, bad].map((t, index) =>
      toRequestRecord(t, { concurrency: 2, round: 1, index, seed: index, roundStartedAt: 0 }),
    );
    const r = toRoundRecord(2, 1, [ok, bad], records);
    assert.equal(r.failed, 1);
    assert.equal(r.aggregateTokPerS, null);
  });

  it("summarizes a level: medians over rounds, pooled latencies, scheduler delta", () => {
    const rounds = [round(4, 1, 10), round(4, 2, 20), round(4, 3, 30)];
    const delta = schedulerDelta(
      { decodeSteps: 10, sequencesDecoded: 10, tokensGenerated: 5 },
      { decodeSteps: 74, sequencesDecoded: 262, tokensGenerated: 269 },
    );
    assert.deepEqual(delta, {
      decodeSteps: 64,
      sequencesDecoded: 252,
      tokensGenerated: 264,
      meanSequencesPerDecode: 252 / 64,
    });
    const level = summarizeLevel(4, rounds, delta);
    assert.equal(level.aggregateTokPerS, rounds[1]!.aggregateTokPerS);
    assert.equal(level.ttftP50Ms, 100);
    assert.equal(level.itlP50Ms, 20);
    assert.equal(level.perStreamDecodeTokPerS, 50);
    assert.equal(level.requests, 12);
    assert.equal(level.failed, 0);
  });

  it("has no sequences per decode without decodes", () => {
    assert.equal(
      schedulerDelta({ decodeSteps: 3, sequencesDecoded: 3 }, { decodeSteps: 3, sequencesDecoded: 3 })
        .meanSequencesPerDecode,
      null,
    );
  });

  it("computes the per-token overhead from medians", () => {
    const o = summarizeOverhead("builtin:tiny", 64, [4, 5, 3.9], [5, 5.5, 6]);
    assert.equal(o.bareMsPerToken, 4);
    assert.equal(o.lavashMsPerToken, 5.5);
    assert.equal(o.overheadMsPerToken, 1.5);
    assert.equal(o.overheadPercent, 37.5);
  });
});

function level(concurrency: number, aggregate: number, spd: number | null): LevelSummary {
  return {
    concurrency,
    rounds: 3,
    aggregateTokPerS: aggregate,
    aggregateTokPerSByRound: [aggregate],
    perStreamDecodeTokPerS: aggregate / concurrency,
    ttftP50Ms: 120,
    ttftP90Ms: 150,
    itlP50Ms: 30,
    itlP95Ms: 40,
    requests: concurrency * 3,
    failed: 0,
    scheduler:
      spd === null
        ? null
        : {
            decodeSteps: 64,
            sequencesDecoded: Math.round(spd * 64),
            tokensGenerated: null,
            meanSequencesPerDecode: spd,
          },
  };
}

describe("targets against the llama-server reference", () => {
  const setup = { modelSource: REFERENCE.model, tokens: 64, threads: 2 };

  it("meets both targets within 10% at every level and 3.9+ sequences per decode", () => {
    const s = summarize([level(1, 24, 1), level(2, 30, 2), level(4, 46, 3.95), level(8, 70, 7.9)], [], setup, null);
    assert.equal(s.comparable, true);
    assert.deepEqual(
      s.targets.map((t) => t.status),
      ["met", "met"],
    );
    assert.equal(s.comparison.find((c) => c.concurrency === 8)!.ratio, 70 / 63);
    assert.equal(s.ttftRatio, 120 / 130);
  });

  it("fails the throughput target when one level is more than 10% slower", () => {
    const s = summarize([level(1, 23, 1), level(2, 31, 2), level(4, 47, 3.5), level(8, 63, 7.9)], [], setup, null);
    assert.deepEqual(
      s.targets.map((t) => t.status),
      ["not met", "not met"],
    );
    assert.match(s.targets[0]!.value, /1: 88%/);
  });

  it("does not judge throughput for another model or token count, or with levels missing", () => {
    const tiny = summarize([level(1, 200, 1), level(4, 400, 4)], [], { ...setup, modelSource: "builtin:tiny" }, null);
    assert.equal(tiny.comparable, false);
    assert.deepEqual(tiny.comparison, []);
    assert.equal(tiny.ttftRatio, null);
    assert.deepEqual(
      tiny.targets.map((t) => t.status),
      ["n/a", "met"],
    );
    const short = summarize([level(1, 26, 1)], [], { ...setup, tokens: 16 }, null);
    assert.equal(short.targets[0]!.status, "n/a");
    assert.equal(short.comparison.length, 1);
    const partial = summarize([level(1, 26, 1), level(4, 47, 4)], [], setup, null);
    assert.equal(partial.targets[0]!.status, "n/a");
    assert.match(partial.targets[0]!.value, /not measured at 2, 8/);
  });

  it("treats a target server's unknown model as a caveat, and a missing /v1/status as n/a", () => {
    const s = summarize(
      [level(1, 26, null), level(2, 31, null), level(4, 47, null), level(8, 63, null)],
      [],
      { modelSource: null, tokens: 64, threads: null },
      null,
    );
    assert.equal(s.comparable, true);
    assert.equal(s.targets[0]!.status, "met");
    assert.equal(s.targets[1]!.status, "n/a");
    assert.equal(s.comparisonNotes.length, 1);
  });
});

describe("bench tables", () => {
  it("pads columns, right-aligned unless asked", () => {
    const t = formatTable(
      ["name", "n"],
      [
        ["a", "1"],
        ["bbb", "22"],
      ],
      ["left", "right"],
    );
    assert.equal(t, "name   n\n----  --\na      1\nbbb   22");
  });

  it("formats missing values as a dash", () => {
    assert.equal(fmt(null), "-");
    assert.equal(fmt(NaN), "-");
    assert.equal(fmt(1.234, 2, " ms"), "1.23 ms");
  });

  it("renders levels, reference ratios, overhead and targets", () => {
    const s = summarize(
      [level(1, 26, 1), level(4, 47, 3.95)],
      [],
      { modelSource: REFERENCE.model, tokens: 64, threads: 2 },
      summarizeOverhead("builtin:tiny", 64, [4], [5]),
    );
    const text = renderReport(
      {
        server: "lavash",
        model: REFERENCE.model,
        tokens: 64,
        repeat: 3,
        threads: 2,
        parallel: 8,
        peakRssBytes: 800 * 2 ** 20,
      },
      s,
    );
    assert.match(text, /^\s+4\s+47\.0\s+47\s+100%/m);
    assert.match(text, /server peak RSS: 800 MiB/);
    assert.match(text, /\+1\.00 ms per token \(25%\)/);
    assert.match(text, /\[met\] sequences per decode >= 3\.9 at 4 streams: 3\.95/);
    assert.match(text, /\[n\/a\] aggregate/);
  });
});

describe("process status parsing", () => {
  it("reads kB fields of /proc/<pid>/status as bytes", () => {
    const status = "Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  812340 kB\nVmRSS:\t  700000 kB\n";
    assert.equal(parseProcStatusBytes(status, "VmHWM"), 812340 * 1024);
    assert.equal(parseProcStatusBytes(status, "VmRSS"), 700000 * 1024);
    assert.equal(parseProcStatusBytes(status, "VmSwap"), null);
  });
});
