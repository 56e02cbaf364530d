// Exact cache-aware routing (cache_probe) with two real lavash upstreams: a conversation whose
// prefix only a replica's KV cache holds (its first turn was sent to that replica directly, so
// the gateway's trees know nothing) is routed there; a probe that does not answer in time falls
// back to the tree's estimate.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { LavashServer } from "../../src/embed.js";
import { metric, startGateway, startUpstream } from "./helpers.js";

let a: LavashServer;
let b: LavashServer;
let slow: Server;
let slowUrl: string;
let gateway: LavashServer;

before(async () => {
  a = await startUpstream();
  b = await startUpstream();
  // A stand-in replica whose cache probe never answers in time; it answers chat completions.
  slow = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url?.endsWith("/cache/match")) return void setTimeout(() => res.end("{}"), 2_000);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "c",
          object: "chat.completion",
          created: 1,
          model: "tiny",
          choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
  const address = slow.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  slowUrl = `http://127.0.0.1:${address.port}/v1`;
  const health = { interval: 0 };
  gateway = await startGateway([
    {
      id: "chat",
      replicas: [
        { base_url: a.baseURL, model: "tiny", name: "a", cache_probe: true },
        { base_url: b.baseURL, model: "tiny", name: "b", cache_probe: true },
      ],
      health_check: health,
      routing: { probe_timeout: 1 },
    },
    {
      id: "mixed",
      replicas: [
        { base_url: slowUrl, model: "tiny", name: "slow", cache_probe: true },
        { base_url: a.baseURL, model: "tiny", name: "a2", cache_probe: true },
      ],
      health_check: health,
      routing: { probe_timeout: 0.05 },
    },
  ]);
});
after(async () => {
  await gateway?.close(5);
  await a?.close(5);
  await b?.close(5);
  slow?.closeAllConnections();
  await new Promise((resolve) => slow?.close(resolve));
});

const SYSTEM = "You are the support desk of a bicycle shop. Answer briefly and kindly. ".repeat(5);

async function chat(
  baseURL: string,
  messages: unknown[],
): Promise<{ replica: string | null; json: Record<string, never>; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: baseURL === gateway.baseURL ? "chat" : "tiny",
      messages,
      max_tokens: 3,
      temperature: 0,
    }),
  });
  assert.equal(res.status, 200);
  const json = (await res.json()) as Record<string, never>;
  return { replica: res.headers.get("x-lavash-replica"), json, ms: performance.now() - started };
}

describe("gateway cache probes (cache_probe: true)", () => {
  it("routes a continuation to the replica whose KV cache holds it, with the gateway's trees cold", async () => {
    // The first turn goes to b directly: the gateway has never seen it. Without probes both trees
    // match nothing and the least loaded (a, first in the list) would be picked.
    const turn1 = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "Do you fix brakes?" },
    ];
    const first = await chat(b.baseURL, turn1);
    const answer = (first.json.choices as { message: unknown }[])[0]!.message;
    const turn2 = [...turn1, answer, { role: "user", content: "How much?" }];
    const routed = await chat(gateway.baseURL, turn2);
    assert.equal(routed.replica, "b");
    const usage = routed.json.usage as { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    assert.ok(usage.prompt_tokens_details.cached_tokens > usage.prompt_tokens / 2, JSON.stringify(usage));
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const replica of ["a", "b"]) {
      assert.equal(metric(text, "lavash_gateway_cache_probes_total", { model: "chat", replica }), 1);
      assert.equal(metric(text, "lavash_gateway_cache_probe_seconds_count", { model: "chat", replica }), 1);
    }
  });

  it("falls back to the tree's estimate when a probe times out", async () => {
    const turn1 = [
      { role: "system", content: `${SYSTEM} Mixed.` },
      { role: "user", content: "Open on Sunday?" },
    ];
    // slow's share is unknown (late probe, empty tree), a2's is 0: the least loaded, first in the
    // list (slow), takes it and its tree learns the prompt.
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mixed", messages: turn1, max_tokens: 3 }),
    });
    assert.equal(res.headers.get("x-lavash-replica"), "slow");
    await res.text();
    const started = performance.now();
    const again = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mixed", messages: [...turn1, { role: "user", content: "And Monday?" }] }),
    });
    await again.text();
    // a2 answered its probe with 0 cached; slow's probe timed out and its tree matches most of the prompt.
    assert.equal(again.headers.get("x-lavash-replica"), "slow");
    assert.ok(performance.now() - started < 1_500, "the late probe was not waited for");
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(
      metric(text, "lavash_gateway_cache_probe_failures_total", { model: "mixed", replica: "slow", kind: "timeout" }),
      2,
    );
  });
});
