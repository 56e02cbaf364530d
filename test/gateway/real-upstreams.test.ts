// The gateway in front of two real lavash upstreams (tiny model, loopback): the same answers as
// direct, cache-aware stickiness, failover and ejection when a replica stops, re-admission when
// it is back, fallback models (upstream and local), /v1/models and /metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { LavashServer } from "../../src/embed.js";
import { closedPort, metric, sleep, startGateway, startUpstream } from "./helpers.js";

let a: LavashServer;
let b: LavashServer;
let gateway: LavashServer;
let direct: OpenAI;
let client: OpenAI;

before(async () => {
  a = await startUpstream();
  b = await startUpstream();
  const dead = `http://127.0.0.1:${await closedPort()}/v1`;
  const replicas = [
    { base_url: a.baseURL, model: "tiny", name: "a" },
    { base_url: b.baseURL, model: "tiny", name: "b" },
  ];
  gateway = await startGateway(
    [
      // Passive ejection only: a failed request ejects, a half-open trial re-admits.
      { id: "chat", replicas, health_check: { interval: 0, failure_threshold: 1, cooldown: 0.5 } },
      // The same replicas under active health checks.
      { id: "watched", replicas, health_check: { interval: 0.3, failure_threshold: 1, cooldown: 60 } },
      // Balance limits low enough for 8 requests at once to pass them.
      {
        id: "tight",
        replicas,
        routing: { balance_abs_threshold: 2, balance_rel_threshold: 1.5 },
        health_check: { interval: 0 },
      },
      { id: "down", replicas: [{ base_url: dead, model: "tiny" }], fallbacks: ["chat"], health_check: { interval: 0 } },
      { id: "down-local", replicas: [{ base_url: dead }], fallbacks: ["local"], health_check: { interval: 0 } },
    ],
    { local: ["local=builtin:tiny"] },
  );
  direct = new OpenAI({ baseURL: a.baseURL, apiKey: "none", maxRetries: 0 });
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: "none", maxRetries: 0 });
});
after(async () => {
  await gateway?.close(5);
  await a?.close(5);
  await b?.close(5);
});

const messages = (system: string, user: string) => [
  { role: "system" as const, content: system },
  { role: "user" as const, content: user },
];
const sampled = { temperature: 1, seed: 7, max_tokens: 12 };

async function post(body: unknown): Promise<{ status: number; replica: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${gateway.baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, replica: res.headers.get("x-lavash-replica"), json: (await res.json()) as never };
}

describe("gateway in front of real lavash upstreams", () => {
  it("lists local and routed models", async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids, ["local", "chat", "watched", "tight", "down", "down-local"]);
    assert.equal((await client.models.retrieve("chat")).owned_by, "lavash-gateway");
  });

  it("answers as the upstream does for the same seed, the model renamed", async () => {
    const body = { model: "tiny", messages: messages("You are terse.", "Hello"), ...sampled };
    const want = await direct.chat.completions.create(body);
    const got = await client.chat.completions.create({ ...body, model: "chat" });
    assert.equal(got.model, "chat");
    assert.deepEqual(got.choices, want.choices);
    assert.deepEqual(got.usage?.completion_tokens, want.usage?.completion_tokens);
    assert.deepEqual(got.usage?.prompt_tokens, want.usage?.prompt_tokens);
  });

  it("streams as the upstream does; usage only when asked, even though the gateway always asks", async () => {
    const body = { model: "tiny", messages: messages("You are terse.", "Stream"), ...sampled, stream: true as const };
    const collect = async (c: OpenAI, model: string, includeUsage: boolean) => {
      const chunks = [];
      for await (const chunk of await c.chat.completions.create({
        ...body,
        model,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      }))
        chunks.push(chunk);
      return chunks;
    };
    const want = await collect(direct, "tiny", false);
    const got = await collect(client, "chat", false);
    assert.deepEqual(
      got.map((c) => c.choices),
      want.map((c) => c.choices),
    );
    assert.ok(got.every((c) => c.model === "chat" && !("usage" in c)));
    const withUsage = await collect(client, "chat", true);
    const last = withUsage.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, (await collect(direct, "tiny", true)).at(-1)!.usage?.completion_tokens);
    assert.ok(withUsage.slice(0, -1).every((c) => c.usage === null));
  });

  it("proxies legacy completions and embeddings too", async () => {
    const body = { prompt: "Once upon a time", temperature: 1, seed: 3, max_tokens: 8 };
    const want = await direct.completions.create({ ...body, model: "tiny" });
    const got = await client.completions.create({ ...body, model: "chat" });
    assert.deepEqual(got.choices, want.choices);
    let streamed = "";
    for await (const c of await client.completions.create({ ...body, model: "chat", stream: true }))
      streamed += c.choices[0]?.text ?? "";
    assert.equal(streamed, want.choices[0]!.text);
    const e1 = await direct.embeddings.create({ model: "tiny", input: "hello" });
    const e2 = await client.embeddings.create({ model: "chat", input: "hello" });
    assert.deepEqual(e2.data, e1.data);
    assert.equal(e2.model, "chat");
  });

  it("sends requests that share a system prompt to the same replica", async () => {
    const tenants = [0, 1].map((t) => `Tenant ${t} policy: ${"answer carefully and briefly. ".repeat(12)}`);
    const seen = new Map<number, Set<string>>();
    for (let turn = 0; turn < 3; turn++)
      for (let t = 0; t < tenants.length; t++) {
        const r = await post({ model: "chat", messages: messages(tenants[t]!, `question ${turn}`), max_tokens: 2 });
        assert.equal(r.status, 200);
        if (!seen.has(t)) seen.set(t, new Set());
        seen.get(t)!.add(r.replica!);
      }
    for (const replicas of seen.values()) assert.equal(replicas.size, 1, [...replicas].join());
    assert.notDeepEqual(seen.get(0), seen.get(1), "a new prefix goes to the least loaded (here: the other) replica");
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.ok((metric(metrics, "lavash_gateway_prefix_match_ratio_count", { model: "chat" }) ?? 0) > 0);
  });

  it("spills a shared prefix over to the other replica once the balance limits are passed", async () => {
    const system = `Spill-over tenant: ${"keep every answer short and exact. ".repeat(12)}`;
    const warm = await post({ model: "tight", messages: messages(system, "warm"), max_tokens: 2 });
    assert.equal(warm.status, 200);
    // One at a time, the prefix keeps every request on the warm replica.
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await post({ model: "tight", messages: messages(system, `one ${i}`), max_tokens: 2 })).replica,
        warm.replica,
      );
    // Eight at once: past 2 outstanding (and 1.5x the idle one) the gateway balances instead.
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post({ model: "tight", messages: messages(system, `burst ${i}`), max_tokens: 24 }),
      ),
    );
    for (const r of burst) assert.equal(r.status, 200);
    const counts = new Map<string, number>();
    for (const r of burst) counts.set(r.replica!, (counts.get(r.replica!) ?? 0) + 1);
    assert.equal(counts.size, 2, `both replicas served the burst: ${JSON.stringify([...counts])}`);
    assert.ok(
      (counts.get(warm.replica!) ?? 0) >= 3,
      `the warm replica kept the first ones: ${JSON.stringify([...counts])}`,
    );
  });

  it("serves the fallback model when a group is down: upstream, then local", async () => {
    const up = await post({ model: "down", messages: messages("s", "hi"), max_tokens: 3 });
    assert.equal(up.status, 200);
    assert.equal(up.json.model, "chat");
    const local = await client.chat.completions.create({
      model: "down-local",
      messages: messages("s", "hi"),
      max_tokens: 3,
    });
    assert.equal(local.model, "local");
  });

  const tenant = (t: number) => `${"VWXYZ"[t]} `.repeat(60);

  it("a replica stopped under load: no request fails, it is ejected, then re-admitted when back", async () => {
    const port = b.port;
    let done = 0;
    let stopping: Promise<void> | null = null;
    const failures: string[] = [];
    const one = async (i: number): Promise<void> => {
      try {
        if (i % 2 === 0) {
          const r = await post({ model: "chat", messages: messages(tenant(i % 5), `q${i}`), max_tokens: 3 });
          if (r.status !== 200) failures.push(`${i}: ${r.status} ${JSON.stringify(r.json)}`);
        } else
          for await (const _ of await client.chat.completions.create({
            model: "chat",
            messages: messages(tenant(i % 5), `q${i}`),
            max_tokens: 3,
            stream: true,
          }));
      } catch (error) {
        failures.push(`${i}: ${(error as Error).message}`);
      }
      if (++done === 20) stopping = b.close(5);
    };
    // The load: 200 requests, 8 at a time, half of them streamed.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 200) await one(next++);
      }),
    );
    await stopping;
    assert.deepEqual(failures, []);
    const metrics = async () => (await fetch(`${gateway.url}/metrics`)).text();
    const ejected = async (model: string) =>
      metric(await metrics(), "lavash_gateway_replica_ejected", { model, replica: "b" });
    assert.equal(await ejected("chat"), 1, "ejected by the failed requests");
    assert.ok((metric(await metrics(), "lavash_gateway_errors_total", { model: "chat", replica: "b" }) ?? 0) >= 1);
    assert.equal(await ejected("watched"), 1, "ejected by the health checks");

    b = await startUpstream(port);
    for (let i = 0; i < 50 && (await ejected("watched")) !== 0; i++) await sleep(100);
    assert.equal(await ejected("watched"), 0, "re-admitted by the health check");
    await sleep(600); // past chat's cooldown: the next request to b is its half-open trial
    const landed = new Set<string>();
    for (let i = 0; i < 6; i++)
      landed.add(
        (await post({ model: "chat", messages: messages(`fresh-${i}-`.repeat(20), "x"), max_tokens: 2 })).replica!,
      );
    assert.ok(landed.has("b"), [...landed].join());
    assert.equal(await ejected("chat"), 0, "re-admitted by its trial");
  });
});
