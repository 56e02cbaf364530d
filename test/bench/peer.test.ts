// `--peer llama-server`: its options, the llama-server command line, the missing-binary message,
// and the figures it adds to the comparison (TTFT at 8 streams, the burst workload, interleaved
// short-request rounds). Nothing here needs the llama-server build.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BURST, DEFAULTS, parseBenchArgs, type BenchOptions } from "../../src/bench/args.js";
import { compareBurst, compareThroughput, type ThroughputFigures } from "../../src/bench/compare.js";
import {
  bundledLlamaCppRelease,
  findLlamaServer,
  LLAMA_SERVER_BUILD_COMMAND,
  llamaServerArgs,
  llamaServerBinaryPath,
  llamaServerCacheRoot,
} from "../../src/bench/llama-server.js";
import { summarizeBurst, type BurstRun } from "../../src/bench/scenarios.js";
import {
  mergeShortRequestRounds,
  type RequestRecord,
  type RoundRecord,
  type ShortRequestsSummary,
} from "../../src/bench/summary.js";
import { benchCommand } from "../../src/cli/bench.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function parse(args: string[]): BenchOptions {
  const o = parseBenchArgs(args);
  assert.notEqual(o, "help");
  return o as BenchOptions;
}

/** A value of the flag right after `flag` in an argument list. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe("--peer llama-server: options", () => {
  it("starts the peer (A, the baseline) and lavash (B), with the comparison's defaults", () => {
    const o = parse(["--peer", "llama-server"]);
    assert.deepEqual(o.servers, [
      { url: null, pid: null, start: "llama-server" },
      { url: null, pid: null },
    ]);
    assert.deepEqual(o.concurrency, [...DEFAULTS.compareConcurrency]);
    assert.equal(o.parallel, 16);
    assert.equal(o.shortRequests, DEFAULTS.shortRequests);
    assert.equal(o.burst, DEFAULTS.burst);
    assert.equal(o.burstRounds, DEFAULTS.burstRounds);
    assert.equal(o.overhead, false);
    assert.equal(o.peerBin, null);
    assert.deepEqual(o.peerArgs, []);
  });

  it("takes the binary, extra peer flags, burst settings and --quick", () => {
    const o = parse([
      "--peer",
      "llama-server",
      "--peer-bin",
      "/opt/llama-server",
      "--peer-arg=--cache-ram",
      "--peer-arg=0",
      "--burst",
      "4",
      "--burst-rounds",
      "3",
    ]);
    assert.equal(o.peerBin, "/opt/llama-server");
    assert.deepEqual(o.peerArgs, ["--cache-ram", "0"]);
    assert.equal(o.burst, 4);
    assert.equal(o.burstRounds, 3);
    const q = parse(["--peer", "llama-server", "--quick"]);
    assert.equal(q.model, "builtin:tiny");
    assert.equal(q.burstRounds, 1);
    assert.equal(parse(["--peer", "llama-server", "--burst", "0"]).burst, 0);
  });

  it("refuses what does not go with it", () => {
    assert.throws(() => parse(["--peer", "vllm"]), /--peer must be one of llama-server/);
    assert.throws(() => parse(["--peer", "llama-server", "--compare", "http://p:1"]), /leave out --compare/);
    assert.throws(
      () => parse(["--peer", "llama-server", "--target", "http://p:1"]),
      /leave out --compare and --target/,
    );
    assert.throws(() => parse(["--peer-bin", "/x"]), /go with --peer/);
    assert.throws(() => parse(["--peer-arg=-v"]), /go with --peer/);
    assert.throws(
      () => parse(["--peer", "llama-server", "--scenario", "prefix", "--burst", "8"]),
      /throughput scenario/,
    );
    // The burst's system prompt and output must fit a sequence's context.
    assert.throws(() => parse(["--peer", "llama-server", "--ctx-size", "256"]), /ctx-size of at least/);
  });

  it("a single lavash runs no burst unless asked", () => {
    assert.equal(parse([]).burst, 0);
    assert.equal(parse(["--burst", "8"]).burst, 8);
  });
});

describe("--peer llama-server: the command line", () => {
  const setup = {
    modelPath: "/m/model.gguf",
    port: 18080,
    threads: 2,
    parallel: 16,
    ctxPerSequence: 1024,
    batchSize: 512,
    extraArgs: [],
  };

  it("gives llama-server the total context: context per sequence x slots, not unified", () => {
    const args = llamaServerArgs(setup);
    assert.equal(flagValue(args, "--ctx-size"), String(16 * 1024));
    assert.equal(flagValue(args, "--parallel"), "16");
    assert.ok(args.includes("--no-kv-unified"));
    assert.equal(flagValue(llamaServerArgs({ ...setup, parallel: 8, ctxPerSequence: 2048 }), "--ctx-size"), "16384");
    assert.equal(flagValue(llamaServerArgs({ ...setup, parallel: 1, ctxPerSequence: 4096 }), "--ctx-size"), "4096");
  });

  it("the same model, threads, batch, loopback address and lavash's sampling", () => {
    const args = llamaServerArgs(setup);
    assert.equal(flagValue(args, "--model"), "/m/model.gguf");
    assert.equal(flagValue(args, "--host"), "127.0.0.1");
    assert.equal(flagValue(args, "--port"), "18080");
    assert.equal(flagValue(args, "--threads"), "2");
    assert.equal(flagValue(args, "--threads-batch"), "2");
    assert.equal(flagValue(args, "--batch-size"), "512");
    assert.equal(flagValue(args, "--ubatch-size"), "512");
    // The whole vocabulary, as lavash samples: no top-k / top-p / min-p, no repetition penalty.
    assert.equal(flagValue(args, "--top-k"), "0");
    assert.equal(flagValue(args, "--top-p"), "1");
    assert.equal(flagValue(args, "--min-p"), "0");
    assert.equal(flagValue(args, "--repeat-penalty"), "1");
  });

  it("--peer-arg flags come last, so they override bench's", () => {
    const args = llamaServerArgs({ ...setup, extraArgs: ["--cache-ram", "0"] });
    assert.deepEqual(args.slice(-2), ["--cache-ram", "0"]);
  });
});

describe("--peer llama-server: finding the binary", () => {
  it("names the cache folder after the bundled llama.cpp release, as the build script does", () => {
    const release = bundledLlamaCppRelease(ROOT);
    assert.match(release, /\S/);
    assert.equal(llamaServerCacheRoot({ LAVASH_LLAMA_SERVER_DIR: "/c" }, "/home/u"), "/c");
    assert.equal(llamaServerCacheRoot({ XDG_CACHE_HOME: "/x" }, "/home/u"), "/x/lavash/llama-server");
    assert.equal(llamaServerCacheRoot({}, "/home/u"), "/home/u/.cache/lavash/llama-server");
    assert.equal(llamaServerBinaryPath("b1", {}, "/home/u"), "/home/u/.cache/lavash/llama-server/b1/bin/llama-server");
  });

  it("without a build, fails with the command that builds it", () => {
    const empty = mkdtempSync(join(tmpdir(), "lavash-peer-"));
    try {
      assert.throws(
        () => findLlamaServer(ROOT, null, { LAVASH_LLAMA_SERVER_DIR: empty }),
        (e: Error) => {
          assert.ok(e.message.includes(LLAMA_SERVER_BUILD_COMMAND), e.message);
          assert.ok(e.message.includes(join(empty, bundledLlamaCppRelease(ROOT), "bin", "llama-server")), e.message);
          return true;
        },
      );
      assert.throws(
        () => findLlamaServer(ROOT, join(empty, "nope"), {}),
        /--peer-bin .*nope: no such file.*bench\/build-llama-server\.sh/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("the bench command stops before starting anything when the binary is missing", async () => {
    const empty = mkdtempSync(join(tmpdir(), "lavash-peer-"));
    try {
      await assert.rejects(
        benchCommand([
          "--peer",
          "llama-server",
          "--peer-bin",
          join(empty, "llama-server"),
          "--out",
          join(empty, "r.json"),
        ]),
        new RegExp(LLAMA_SERVER_BUILD_COMMAND.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// ---- what the comparison adds ----------------------------------------------------------------------

function figures(aggregate: number[], ttft: number[], levels = [1, 2, 4, 8, 16]): ThroughputFigures {
  return {
    singleStreamDecodeTokPerS: aggregate[0]!,
    ttftP50Ms: ttft[0]!,
    aggregateTokPerS: levels.map((c, i) => ({ concurrency: c, value: aggregate[i] ?? null })),
    ttftP50MsByLevel: levels.map((c, i) => ({ concurrency: c, value: ttft[i] ?? null })),
    shortRequestsPerS: null,
    peakRssBytes: null,
  };
}

describe("--peer llama-server: ratios lavash / llama-server", () => {
  it("TTFT p50 at 1 stream and at 8 streams at once, aggregate at every level", () => {
    const llama = figures([40, 42, 74, 96, 104], [36, 40, 60, 200, 400]);
    const lavash = figures([37, 43, 66, 84, 94], [43, 44, 70, 150, 500]);
    const rows = compareThroughput(llama, lavash, null);
    const ratio = (metric: string): number | null | undefined => rows.find((r) => r.metric === metric)?.ratio;
    assert.equal(ratio("single-stream decode"), 0.925);
    assert.equal(ratio("TTFT p50 (1 stream)"), 1.194);
    assert.equal(ratio("TTFT p50 (8 streams at once)"), 0.75);
    assert.equal(ratio("aggregate, 16 streams"), 0.904);
    // Without an 8-stream level there is no such row.
    assert.equal(
      compareThroughput(figures([1], [1], [1]), figures([1], [1], [1]), null).some((r) =>
        r.metric.startsWith("TTFT p50 (8"),
      ),
      false,
    );
  });

  it("merges interleaved short-request rounds: median rate of the completed rounds, failures summed", () => {
    const round = (rate: number | null, failed = 0): ShortRequestsSummary => ({
      requests: 64,
      concurrency: 4,
      failed,
      wallMs: rate === null ? 1000 : 64_000 / rate,
      requestsPerS: rate,
      latencyP50Ms: 40,
      latencyP95Ms: 60,
    });
    const merged = mergeShortRequestRounds([round(30), round(50), round(40)]);
    assert.equal(merged.requestsPerS, 40);
    assert.equal(merged.requests, 64);
    assert.equal(merged.failed, 0);
    const failing = mergeShortRequestRounds([round(30), round(null, 1), round(50)]);
    assert.equal(failing.requestsPerS, 40);
    assert.equal(failing.failed, 1);
    const allFailed = mergeShortRequestRounds([round(null, 2), round(null, 1)]);
    assert.equal(allFailed.requestsPerS, null);
    assert.equal(allFailed.failed, 3);
  });
});

function request(ttftMs: number | null, error: string | null = null): RequestRecord {
  return {
    concurrency: 1,
    round: 1,
    index: 0,
    seed: 0,
    startOffsetMs: 0,
    ttftMs,
    totalMs: 1000,
    tokens: 64,
    usageTokens: 64,
    textChunks: 64,
    finishReason: "length",
    error,
    decodeTokPerS: 60,
    itlP50Ms: 15,
    itlP95Ms: 20,
    textOffsetsMs: [],
  };
}

function burstRun(round: number, ttfts: number[], aggregate: number, sequentialTtft = 50): BurstRun {
  const simultaneous: RoundRecord = {
    concurrency: ttfts.length,
    round,
    wallMs: 1000,
    totalTokens: 64 * ttfts.length,
    aggregateTokPerS: aggregate,
    failed: 0,
    requests: ttfts.map((t) => request(t)),
  };
  return { round, sequential: ttfts.map(() => request(sequentialTtft)), simultaneous };
}

describe("one at a time, then all at once", () => {
  it("summarizes the second phase per round, then medians over rounds", () => {
    const starved = burstRun(1, [100, 110, 120, 130, 3600, 3700, 3800, 4000], 54);
    const s = summarizeBurst(8, [
      starved,
      burstRun(2, [200, 210, 220, 230, 240, 250, 260, 270], 80),
      burstRun(3, [300, 300, 300, 300, 300, 300, 300, 300], 70),
    ]);
    assert.equal(s.rounds[0]!.ttftP50Ms, 1865);
    assert.equal(s.rounds[0]!.ttftMaxMs, 4000);
    assert.equal(s.rounds[0]!.sequentialTtftP50Ms, 50);
    assert.equal(s.ttftP50Ms, 300);
    assert.equal(s.aggregateTokPerS, 70);
    assert.equal(s.failed, 0);
  });

  it("counts failures of either phase", () => {
    const run = burstRun(1, [100, 100], 10);
    run.sequential[1] = request(null, "HTTP 500");
    assert.equal(summarizeBurst(2, [run]).failed, 1);
  });

  it("compares the second phase: TTFT p50, p95, aggregate", () => {
    const a = summarizeBurst(8, [burstRun(1, [200, 200, 200, 200, 200, 200, 200, 200], 86)]);
    const b = summarizeBurst(8, [burstRun(1, [3700, 3700, 3700, 3700, 3700, 3700, 3700, 4000], 54)]);
    const rows = compareBurst(a, b);
    assert.deepEqual(
      rows.map((r) => [r.metric, r.unit, r.better, r.ratio]),
      [
        ["8 one at a time, then 8 at once: TTFT p50", "ms", "lower", 18.5],
        ["8 one at a time, then 8 at once: TTFT p95", "ms", "lower", 19.475],
        ["8 one at a time, then 8 at once: aggregate", "tok/s", "higher", 0.628],
      ],
    );
    assert.equal(BURST.maxTokens, 64);
  });
});
