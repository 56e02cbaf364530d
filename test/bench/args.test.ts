import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULTS,
  defaultOutPath,
  normalizeTarget,
  parseBenchArgs,
  parseConcurrencyList,
  QUICK,
  type BenchOptions,
} from "../../src/bench/args.js";

function parse(args: string[]): BenchOptions {
  const o = parseBenchArgs(args);
  assert.notEqual(o, "help");
  return o as BenchOptions;
}

describe("bench arguments", () => {
  it("has the documented defaults", () => {
    const o = parse([]);
    assert.equal(o.model, DEFAULTS.model);
    assert.equal(o.scenario, "throughput");
    assert.deepEqual(o.servers, [{ url: null, pid: null }]);
    assert.equal(o.tokens, 64);
    assert.deepEqual(o.concurrency, [1, 2, 4, 8]);
    assert.equal(o.repeat, 3);
    assert.equal(o.parallel, 8);
    assert.equal(o.ctxSize, 1024);
    assert.equal(o.threads, null);
    assert.equal(o.out, null);
    assert.equal(o.overhead, true);
    assert.equal(o.shortRequests, 0);
    assert.equal(o.prefillChunk, null);
  });

  it("--quick changes only what is not given explicitly", () => {
    const q = parse(["--quick"]);
    assert.equal(q.model, QUICK.model);
    assert.equal(q.tokens, QUICK.tokens);
    assert.equal(q.repeat, QUICK.repeat);
    const o = parse(["--quick", "--tokens", "32", "--concurrency", "2"]);
    assert.equal(o.tokens, 32);
    assert.deepEqual(o.concurrency, [2]);
    assert.equal(o.model, QUICK.model);
  });

  it("parses concurrency lists and sizes parallel to the largest level", () => {
    assert.deepEqual(parseConcurrencyList("1, 4,4,16"), [1, 4, 16]);
    assert.equal(parse(["--concurrency", "1,16"]).parallel, 16);
    assert.equal(parse(["--concurrency", "1,16", "--parallel", "4"]).parallel, 4);
    assert.throws(() => parseConcurrencyList(""), /comma-separated/);
    assert.throws(() => parseConcurrencyList("1,0"), /concurrency/);
    assert.throws(() => parseConcurrencyList("two"), /concurrency/);
  });

  it("validates numbers", () => {
    assert.throws(() => parse(["--tokens", "1"]), /--tokens/);
    assert.throws(() => parse(["--repeat", "0"]), /--repeat/);
    assert.throws(() => parse(["--threads", "1.5"]), /--threads/);
    assert.throws(() => parse(["--tokens", "2000"]), /ctx-size/);
    assert.throws(() => parse(["--bogus"]), /bogus/);
  });

  it("--target normalizes the URL, needs --model-id instead of --model, and skips the overhead run", () => {
    const o = parse(["--target", "http://127.0.0.1:8080/v1/", "--model-name", "m"]);
    assert.deepEqual(o.servers, [{ url: "http://127.0.0.1:8080", pid: null }]);
    assert.equal(o.modelName, "m");
    assert.equal(o.overhead, false);
    assert.equal(parse(["--target", "http://h:1", "--model-id", "x"]).modelName, "x");
    assert.equal(normalizeTarget("https://h/api/v1"), "https://h/api");
    assert.throws(() => normalizeTarget("localhost:8080"), /http/);
    assert.throws(() => parse(["--target", "http://h:1", "--model", "x"]), /--model-id/);
    assert.throws(() => parse(["--target", "http://h:1", "--model-id", "x", "--model-name", "y"]), /same option/);
  });

  it("two servers: --target A --target B (B/A) or --compare PEER (lavash/PEER), with pids and comparison defaults", () => {
    const two = parse(["--target", "http://a:1", "--target", "http://b:2", "--target-pid", "11", "--target-pid", "22"]);
    assert.deepEqual(two.servers, [
      { url: "http://a:1", pid: 11 },
      { url: "http://b:2", pid: 22 },
    ]);
    assert.deepEqual(two.concurrency, DEFAULTS.compareConcurrency);
    assert.equal(two.shortRequests, DEFAULTS.shortRequests);
    assert.equal(two.overhead, false);
    const peer = parse(["--compare", "http://p:9/v1", "--compare-pid", "7", "--model", "builtin:tiny"]);
    assert.deepEqual(peer.servers, [
      { url: "http://p:9", pid: 7 },
      { url: null, pid: null },
    ]);
    assert.equal(peer.model, "builtin:tiny");
    assert.equal(peer.parallel, 16);
    assert.deepEqual(
      parse(["--compare", "http://p:9", "--target", "http://a:1"]).servers.map((s) => s.url),
      ["http://p:9", "http://a:1"],
    );
    assert.equal(parse(["--compare", "http://p:9", "--quick"]).shortRequests, QUICK.shortRequests);
    assert.equal(parse(["--compare", "http://p:9", "--short-requests", "0"]).shortRequests, 0);
    assert.equal(parse(["--compare", "http://p:9"]).ttftRequests, DEFAULTS.ttftRequests);
    assert.equal(parse(["--compare", "http://p:9", "--quick"]).ttftRequests, QUICK.ttftRequests);
    assert.equal(parse(["--compare", "http://p:9", "--ttft-requests", "0"]).ttftRequests, 0);
    assert.equal(parse([]).ttftRequests, 0);
    assert.equal(parse(["--compare", "http://p:9"]).seededShort, false);
    assert.equal(parse(["--compare", "http://p:9", "--seeded-short"]).seededShort, true);
    assert.throws(
      () => parse(["--target", "http://a:1", "--target", "http://b:2", "--compare", "http://c:3"]),
      /at most two/,
    );
    assert.throws(() => parse(["--target-pid", "5"]), /--target-pid/);
    assert.throws(() => parse(["--compare-pid", "5"]), /--compare-pid goes with --compare/);
    assert.throws(() => parse(["--compare", "nope"]), /--compare must be a URL/);
  });

  it("scenarios size the started server's context for their prompts", () => {
    const prefix = parse(["--scenario", "prefix"]);
    assert.equal(prefix.ctxSize, DEFAULTS.ctxSize.prefix);
    assert.equal(prefix.turns, 20);
    assert.equal(prefix.systemTokens, 1000);
    assert.equal(prefix.overhead, false);
    const fair = parse(["--scenario", "fairness", "--prefill-chunk", "64"]);
    assert.equal(fair.ctxSize, 4096);
    assert.equal(fair.longPromptTokens, 2000);
    assert.equal(fair.prefillChunk, 64);
    assert.throws(() => parse(["--scenario", "fairness", "--ctx-size", "1024"]), /at least 2064/);
    assert.throws(() => parse(["--scenario", "prefix", "--system-tokens", "3000"]), /ctx-size/);
    // A server bench does not start is not checked: its context is its own.
    assert.equal(parse(["--scenario", "prefix", "--target", "http://h:1", "--ctx-size", "16"]).ctxSize, 16);
    assert.throws(() => parse(["--scenario", "latency"]), /--scenario must be one of throughput, prefix, fairness/);
  });

  it("--no-overhead, --unique-prompts and --help", () => {
    assert.equal(parse(["--no-overhead"]).overhead, false);
    assert.equal(parse([]).uniquePrompts, false);
    assert.equal(parse(["--unique-prompts"]).uniquePrompts, true);
    assert.equal(parseBenchArgs(["--help"]), "help");
  });

  it("names the default output by time, safe for file names", () => {
    assert.equal(defaultOutPath(new Date("2025-01-02T03:04:05.678Z")), "bench-results/bench-2025-01-02T03-04-05Z.json");
  });
});
