import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, defaultOutPath, normalizeTarget, parseBenchArgs, parseConcurrencyList, QUICK, type BenchOptions } from "../../bench/args.js";

function parse(args: string[]): BenchOptions {
  const o = parseBenchArgs(args);
  assert.notEqual(o, "help");
  return o as BenchOptions;
}

describe("bench arguments", () => {
  it("has the documented defaults", () => {
    const o = parse([]);
    assert.equal(o.model, DEFAULTS.model);
    assert.equal(o.target, null);
    assert.equal(o.tokens, 64);
    assert.deepEqual(o.concurrency, [1, 2, 4, 8]);
    assert.equal(o.repeat, 3);
    assert.equal(o.parallel, 8);
    assert.equal(o.ctxSize, 1024);
    assert.equal(o.threads, null);
    assert.equal(o.out, null);
    assert.equal(o.overhead, true);
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

  it("--target normalizes the URL, needs --model-name instead of --model, and skips the overhead run", () => {
    const o = parse(["--target", "http://127.0.0.1:8080/v1/", "--model-name", "m"]);
    assert.equal(o.target, "http://127.0.0.1:8080");
    assert.equal(o.modelName, "m");
    assert.equal(o.overhead, false);
    assert.equal(normalizeTarget("https://h/api/v1"), "https://h/api");
    assert.throws(() => normalizeTarget("localhost:8080"), /http/);
    assert.throws(() => parse(["--target", "http://h:1", "--model", "x"]), /--model-name/);
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
