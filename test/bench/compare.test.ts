import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareFairness,
  comparePrefix,
  compareThroughput,
  metricRow,
  throughputFigures,
} from "../../src/bench/compare.js";
import { summarizeFairness, summarizePrefix } from "../../src/bench/scenarios.js";
import { peakRss, sampleMemory } from "../../src/bench/server-process.js";
import { analyzeStream } from "../../src/bench/sse.js";
import { summarize, summarizeShortRequests, summarizeTtftSeries, type LevelSummary } from "../../src/bench/summary.js";
import { renderComparison, renderShortRequests, renderTtftSeries } from "../../src/bench/table.js";

function level(concurrency: number, aggregate: number | null, ttft = 100): LevelSummary {
  return {
    concurrency,
    rounds: 1,
    aggregateTokPerS: aggregate,
    aggregateTokPerSByRound: [aggregate],
    perStreamDecodeTokPerS: aggregate === null ? null : aggregate / concurrency,
    ttftP50Ms: ttft,
    ttftP90Ms: ttft,
    itlP50Ms: 10,
    itlP95Ms: 12,
    requests: concurrency,
    failed: 0,
    scheduler: null,
  };
}

const setup = { modelSource: null, tokens: 64, threads: null };

describe("comparing two servers", () => {
  it("metric rows: candidate / baseline, null when either side is missing", () => {
    assert.equal(metricRow("x", "tok/s", "higher", 20, 30).ratio, 1.5);
    assert.equal(metricRow("x", "ms", "lower", 0, 30).ratio, null);
    assert.equal(metricRow("x", "ms", "lower", null, 30).ratio, null);
  });

  it("throughput: decode, TTFT, every level of either server, request rate, peak RSS", () => {
    const short = (ms: number) =>
      summarizeShortRequests(
        Array.from({ length: 4 }, (_, i) =>
          analyzeStream(
            [
              { data: JSON.stringify({ choices: [{ text: "a", finish_reason: "length" }] }), at: i * ms + ms },
              { data: "[DONE]", at: i * ms + ms },
            ],
            i * ms,
            i * ms + ms,
          ),
        ),
        1,
      );
    const a = throughputFigures(
      summarize([level(1, 20, 120), level(4, 40)], [], setup, null),
      short(50),
      800 * 2 ** 20,
    );
    const b = throughputFigures(
      summarize([level(1, 22, 60), level(4, 50), level(16, 70)], [], setup, null),
      short(25),
      900 * 2 ** 20,
    );
    assert.equal(short(50).requestsPerS, 20);
    const rows = compareThroughput(a, b, short(50));
    assert.deepEqual(
      rows.map((r) => [r.metric, r.ratio]),
      [
        ["single-stream decode", 1.1],
        ["TTFT p50 (1 stream)", 0.5],
        ["aggregate, 1 stream", 1.1],
        ["aggregate, 4 streams", 1.25],
        ["aggregate, 16 streams", null],
        ["max_tokens=1: 4 requests, 1 at a time", 2],
        ["server peak RSS", 1.125],
      ],
    );
    const text = renderComparison(["llama-server", "lavash"], rows);
    assert.match(text, /^A = llama-server\nB = lavash/);
    assert.match(text, /TTFT p50 \(1 stream\)\s+120 ms\s+60 ms\s+0\.50\s+lower/);
    assert.match(text, /aggregate, 16 streams\s+-\s+70\.0 tok\/s\s+-\s+higher/);
    assert.match(text, /server peak RSS\s+800 MiB\s+900 MiB\s+1\.13\s+lower/);
    assert.equal(
      compareThroughput(a, b, null).some((r) => r.unit === "req/s"),
      false,
    );
  });

  it("TTFT at 1 stream comes from the one-at-a-time series when both servers ran it", () => {
    // Requests whose first text arrives `ttft` ms after they start; one failed request is left out.
    const series = (ttfts: number[]) =>
      summarizeTtftSeries([
        ...ttfts.map((ttft, i) =>
          analyzeStream(
            [
              { data: JSON.stringify({ choices: [{ text: "a", finish_reason: "length" }] }), at: i * 100 + ttft },
              { data: "[DONE]", at: i * 100 + ttft },
            ],
            i * 100,
            i * 100 + ttft,
          ),
        ),
        analyzeStream([], 0, 1, "socket hang up"),
      ]);
    const llama = series([6, 5, 7, 9, 6]);
    assert.deepEqual(llama, { requests: 6, failed: 1, ttftP10Ms: 5.4, ttftP50Ms: 6, ttftP90Ms: 8.2 });
    const levels = summarize([level(1, 20, 120)], [], setup, null);
    const a = throughputFigures(levels, null, null, llama);
    const b = throughputFigures(levels, null, null, series([8, 7, 9, 12, 8]));
    const row = compareThroughput(a, b, null).find((r) => r.metric.startsWith("TTFT p50 (1 stream"));
    assert.deepEqual(row && [row.metric, row.baseline, row.candidate, row.ratio], [
      "TTFT p50 (1 stream, 6 requests one at a time)",
      6,
      8,
      1.333,
    ]);
    assert.match(
      renderTtftSeries(llama),
      /6 max_tokens=1 requests one at a time: p50 6\.0 ms \(p10 5\.4 ms, p90 8\.2 ms\), 1 FAILED/,
    );
    // Without the series on both sides, the 1-stream level's figure, under its old name.
    const rowWithout = compareThroughput(a, throughputFigures(levels, null, null), null).find((r) =>
      r.metric.startsWith("TTFT p50 (1 stream"),
    );
    assert.deepEqual(rowWithout && [rowWithout.metric, rowWithout.candidate], ["TTFT p50 (1 stream)", 120]);
  });

  it("a short-request run with a failure has no rate", () => {
    const ok = analyzeStream(
      [
        { data: JSON.stringify({ choices: [{ text: "a", finish_reason: "length" }] }), at: 5 },
        { data: "[DONE]", at: 5 },
      ],
      0,
      6,
    );
    const s = summarizeShortRequests([ok, analyzeStream([], 0, 10, "HTTP 429: busy")], 2);
    assert.equal(s.failed, 1);
    assert.equal(s.requestsPerS, null);
    assert.match(renderShortRequests(s), /1 FAILED/);
  });

  it("scenarios: prefix and fairness key figures", () => {
    const p = summarizePrefix([]);
    assert.deepEqual(
      comparePrefix(p, p).map((r) => r.ratio),
      [null, null, null],
    );
    const f1 = summarizeFairness(
      [[0, 10, 20, 30, 40]],
      0,
      { baselineStart: 0, longStart: 20, longFirstToken: 40 },
      null,
    );
    const f2 = summarizeFairness(
      [[0, 10, 20, 40, 60]],
      0,
      { baselineStart: 0, longStart: 20, longFirstToken: 60 },
      null,
    );
    const rows = compareFairness(f1, f2);
    assert.equal(rows.find((r) => r.metric === "streams' ITL p95 during the long prefill")!.ratio, 2);
    assert.equal(rows.find((r) => r.metric === "long prompt TTFT while streams run")!.ratio, 2);
  });
});

describe("server memory", () => {
  it("samples a process's RSS and reads its VmHWM (Linux)", { skip: process.platform !== "linux" }, () => {
    const m = sampleMemory(process.pid, 10).stop();
    assert.equal(m.pid, process.pid);
    assert.ok(m.samples >= 1);
    assert.ok(m.vmHwmBytes! >= m.sampledMaxRssBytes! * 0.5);
    assert.equal(peakRss(m), m.vmHwmBytes);
    assert.equal(peakRss({ ...m, vmHwmBytes: null }), m.sampledMaxRssBytes);
    assert.equal(peakRss(null), null);
  });
});
