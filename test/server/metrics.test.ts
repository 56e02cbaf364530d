// GET /metrics: valid Prometheus text format; counters move by exactly the usage a request
// reports; the timing histograms get one time-to-first-token and one gap per further piece of
// streamed text; the engine gauges are read live; each app has its own registry.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { listenTestApp, startTestServer, waitForIdle, type TestServer } from "../helpers/server.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format strictly enough to catch malformed output. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sampleLine = new RegExp(`^(${name})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
  const labelPair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith("\n"), "ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue; // the format allows blank lines (prom-client puts one between families)
    if (line.startsWith("# HELP ")) {
      assert.match(line, new RegExp(`^# HELP ${name} `), line);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const m = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      assert.ok(m, `bad TYPE line: ${line}`);
      assert.ok(!types.has(m[1]!), `TYPE twice: ${m[1]}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment: '${line}'`);
    const m = sampleLine.exec(line);
    assert.ok(m, `bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? "";
    while (rest !== "") {
      const pair = labelPair.exec(rest);
      assert.ok(pair, `bad labels in: ${line}`);
      labels[pair[1]!] = pair[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
      rest = rest.slice(pair[0].length);
    }
    const raw = m[3]!;
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes "Nan").
    const value = /^[+-]?inf$/i.test(raw) ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw);
    assert.ok(/^nan$/i.test(raw) || !Number.isNaN(value), `bad value in: ${line}`);
    const family = [m[1]!, m[1]!.replace(/_(bucket|sum|count)$/, "")].find((n) => types.has(n));
    assert.ok(family, `sample without a TYPE: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  // Histograms: cumulative buckets ending in +Inf, which equals _count.
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const buckets = samples.filter((s) => s.name === `${family}_bucket`);
    const series = new Map<string, Sample[]>();
    for (const b of buckets) {
      const { le: _le, ...rest } = b.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), b]);
    }
    for (const [key, list] of series) {
      for (let i = 1; i < list.length; i++)
        assert.ok(list[i]!.value >= list[i - 1]!.value, `${family} buckets not cumulative`);
      assert.equal(list.at(-1)!.labels.le, "+Inf");
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      assert.equal(count?.value, list.at(-1)!.value, `${family}_count`);
    }
  }
  return { samples, types };
}

let server: TestServer;
before(async () => {
  server = await startTestServer({ parallel: 2, contextSize: 2048 });
});
after(async () => {
  await server?.close();
});

async function scrape(
  root = server.root,
): Promise<{ samples: Sample[]; types: Map<string, string>; contentType: string }> {
  const res = await fetch(`${root}/metrics`);
  assert.equal(res.status, 200);
  return { ...parseExposition(await res.text()), contentType: res.headers.get("content-type") ?? "" };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hit = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit.reduce((n, s) => n + s.value, 0);
}

const messages = [{ role: "user" as const, content: "Tell me about metrics, please." }];

describe("metrics", () => {
  it("serves valid exposition text with the lavash and process metrics", async () => {
    const { types, contentType } = await scrape();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const expected: [string, string][] = [
      ["lavash_http_requests_total", "counter"],
      ["lavash_prompt_tokens_total", "counter"],
      ["lavash_completion_tokens_total", "counter"],
      ["lavash_prefix_cache_hit_tokens_total", "counter"],
      ["lavash_time_to_first_token_seconds", "histogram"],
      ["lavash_inter_token_latency_seconds", "histogram"],
      ["lavash_queue_depth", "gauge"],
      ["lavash_active_sequences", "gauge"],
      ["lavash_sequences", "gauge"],
      ["lavash_mean_sequences_per_decode", "gauge"],
      ["lavash_kv_cells_used", "gauge"],
      ["process_cpu_user_seconds_total", "counter"],
      ["nodejs_eventloop_lag_seconds", "gauge"],
    ];
    for (const [name, type] of expected) assert.equal(types.get(name), type, name);
  });

  it("counts exactly the tokens and the request of a non-streaming completion", async () => {
    const before = (await scrape()).samples;
    const res = await server.client.chat.completions.create({ model: "tiny", messages, max_tokens: 12, seed: 3 });
    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    assert.equal(delta("lavash_prompt_tokens_total", { model: "tiny" }), res.usage!.prompt_tokens);
    assert.equal(delta("lavash_completion_tokens_total", { model: "tiny" }), res.usage!.completion_tokens);
    assert.equal(
      delta("lavash_prefix_cache_hit_tokens_total", { model: "tiny" }),
      res.usage!.prompt_tokens_details?.cached_tokens ?? 0,
    );
    assert.equal(delta("lavash_http_requests_total", { endpoint: "/v1/chat/completions", status: "200" }), 1);
    assert.equal(delta("lavash_time_to_first_token_seconds_count", { model: "tiny" }), 1);
  });

  it("times every piece of a stream and counts the prefix cache's tokens", async () => {
    // The same prompt again: its prefix comes from the cache.
    await server.client.chat.completions.create({ model: "tiny", messages, max_tokens: 2, seed: 4 });
    const before = (await scrape()).samples;
    const stream = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 16,
      seed: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let pieces = 0;
    let usage:
      | { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } }
      | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) pieces++;
      if (chunk.usage) usage = chunk.usage;
    }
    const after = (await scrape()).samples;
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    assert.ok(usage);
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(cached > 0, "the prompt was in the prefix cache");
    assert.equal(delta("lavash_prefix_cache_hit_tokens_total", { model: "tiny" }), cached);
    assert.equal(delta("lavash_prompt_tokens_total", { model: "tiny" }), usage.prompt_tokens);
    assert.equal(delta("lavash_completion_tokens_total", { model: "tiny" }), usage.completion_tokens);
    assert.equal(delta("lavash_http_requests_total", { endpoint: "/v1/chat/completions", status: "200" }), 1);
    assert.ok(pieces >= 2, `${pieces} pieces`);
    assert.equal(delta("lavash_time_to_first_token_seconds_count"), 1);
    assert.equal(delta("lavash_inter_token_latency_seconds_count", { model: "tiny" }), pieces - 1);
    assert.ok(delta("lavash_time_to_first_token_seconds_sum") > 0);
  });

  it("labels requests by route pattern, whatever the URL", async () => {
    const before = (await scrape()).samples;
    await fetch(`${server.baseURL}/models/tiny`);
    await fetch(`${server.baseURL}/models/other%2Fmodel`);
    await fetch(`${server.root}/no/such/route?x=1`);
    const after = (await scrape()).samples;
    const delta = (labels: Record<string, string>) =>
      value(after, "lavash_http_requests_total", labels) - value(before, "lavash_http_requests_total", labels);
    assert.equal(delta({ endpoint: "/v1/models/*", status: "200" }), 1);
    assert.equal(delta({ endpoint: "/v1/models/*", status: "404" }), 1);
    assert.equal(delta({ endpoint: "unmatched", status: "404" }), 1);
  });

  it("reads the engine gauges at scrape time", async () => {
    await waitForIdle(server);
    const idle = (await scrape()).samples;
    assert.equal(value(idle, "lavash_sequences"), 2);
    assert.equal(value(idle, "lavash_active_sequences"), 0);
    assert.equal(value(idle, "lavash_queue_depth"), 0);
    assert.equal(value(idle, "lavash_kv_cells_used"), 0);
    assert.ok(value(idle, "lavash_mean_sequences_per_decode") >= 1);
    // Three long streams on two sequences: two run, one waits.
    const streams = await Promise.all(
      [1, 2, 3].map((seed) =>
        server.client.chat.completions.create({ model: "tiny", messages, max_tokens: 1500, seed, stream: true }),
      ),
    );
    try {
      let busy = idle;
      for (let i = 0; i < 300; i++) {
        busy = (await scrape()).samples;
        if (value(busy, "lavash_active_sequences") === 2 && value(busy, "lavash_queue_depth") === 1) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(value(busy, "lavash_active_sequences"), 2);
      assert.equal(value(busy, "lavash_queue_depth"), 1);
      assert.ok(value(busy, "lavash_kv_cells_used") > 0);
    } finally {
      for (const s of streams) s.controller.abort();
    }
    await waitForIdle(server);
  });

  it("keeps one registry per app, and none when metrics are off", async () => {
    const second = await listenTestApp(server.engine);
    const off = await listenTestApp(server.engine, { metrics: false });
    try {
      const fresh = (await scrape(second.root)).samples;
      assert.equal(value(fresh, "lavash_completion_tokens_total"), 0);
      assert.equal((await fetch(`${off.root}/metrics`)).status, 404);
      assert.equal(
        (await off.client.chat.completions.create({ model: "tiny", messages, max_tokens: 2 })).usage?.completion_tokens,
        2,
      );
    } finally {
      await second.app.close();
      await off.app.close();
    }
  });
});
