// Per-key limits on a local model: requests and tokens per minute answered with OpenAI's 429
// (rate_limit_exceeded, Retry-After, x-ratelimit-*), per-key usage in /metrics by the key's
// name, and keys without limits untouched. The buckets' arithmetic against a fake clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { duration, KeyLimiter, reservation, TokenBucket } from "../../src/server/rate-limit.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("token buckets", () => {
  it("refill continuously at capacity per minute and may go below zero", () => {
    let t = 0;
    const bucket = new TokenBucket(60, () => t);
    bucket.take(60);
    assert.equal(bucket.available, 0);
    t = 1000;
    assert.equal(bucket.available, 1);
    bucket.take(11);
    assert.equal(bucket.available, -10);
    assert.equal(Math.round(bucket.msUntilAbove(0)), 10_001);
    assert.equal(bucket.msUntilFull(), 70_000);
    t = 1_000_000;
    assert.equal(bucket.available, 60, "never above the capacity");
  });

  it("admit requests while one is left, tokens while the bucket is above zero; settle to the usage", () => {
    let t = 0;
    const limiter = new KeyLimiter({ key: "k", name: "n", rpm: 2, tpm: 100 }, () => t);
    assert.deepEqual(limiter.admit(30), { ok: true });
    limiter.settle(30, 150); // used more than reserved: the bucket is overdrawn
    const refused = limiter.admit(10);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.limit, "tokens");
    assert.ok(!refused.ok && refused.retryAfterMs > 29_000 && refused.retryAfterMs < 31_000);
    t = 31_000;
    assert.deepEqual(limiter.admit(10), { ok: true });
    assert.equal(limiter.headers()["x-ratelimit-remaining-requests"], "1");
    const requests = new KeyLimiter({ key: "k", name: "n", rpm: 2, tpm: 0 }, () => t);
    assert.ok(requests.admit(0).ok && requests.admit(0).ok);
    const byRequests = requests.admit(0);
    assert.equal(!byRequests.ok && byRequests.limit, "requests");
    assert.ok(!byRequests.ok && Math.round(byRequests.retryAfterMs / 1000) === 30);
    assert.deepEqual(Object.keys(limiter.headers()).sort(), [
      "x-ratelimit-limit-requests",
      "x-ratelimit-limit-tokens",
      "x-ratelimit-remaining-requests",
      "x-ratelimit-remaining-tokens",
      "x-ratelimit-reset-requests",
      "x-ratelimit-reset-tokens",
    ]);
  });

  it("reserve the prompt's characters / 4 and the output limit times n; word resets as OpenAI", () => {
    const chat = { messages: [{ role: "user", content: "x".repeat(40) }], max_tokens: 10, n: 2 };
    assert.equal(
      reservation("/v1/chat/completions", chat),
      Math.ceil("<user>".concat("x".repeat(40), "\n").length / 4) + 20,
    );
    assert.equal(reservation("/v1/responses", { input: "abcd", max_output_tokens: 5 }), 2 + 5);
    assert.equal(duration(20), "20ms");
    assert.equal(duration(1500), "1.5s");
    assert.equal(duration(360_000), "6m0s");
  });
});

let server: TestServer;
before(async () => {
  server = await startTestServer(
    { parallel: 2 },
    {
      auth: {
        keys: ["free-key"],
        clients: [
          { key: "rpm-key", name: "team-rpm", rpm: 2 },
          { key: "tpm-key", name: "team-tpm", tpm: 20 },
        ],
      },
    },
  );
});
after(async () => {
  await server?.close();
});

const chat = { model: "tiny", messages: [{ role: "user" as const, content: "Hi there" }], max_tokens: 20, seed: 1 };

async function post(key: string, body: unknown): Promise<Response> {
  return fetch(`${server.baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

async function metricsText(): Promise<string> {
  return (await fetch(`${server.root}/metrics`)).text();
}

function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(" ").pop());
  }
  return undefined;
}

describe("per-key limits on a local model", () => {
  it("refuses the request past the key's rpm with OpenAI's 429, Retry-After and x-ratelimit-*", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post("rpm-key", chat);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-limit-requests"), "2");
      assert.equal(res.headers.get("x-ratelimit-remaining-requests"), String(1 - i));
      assert.equal(res.headers.get("x-ratelimit-limit-tokens"), null, "no token limit: no token headers");
      await res.json();
    }
    const refused = await post("rpm-key", chat);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    // One request every 30 s refills the bucket: less what passed since the first two.
    assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers.get("x-ratelimit-remaining-requests"), "0");
    assert.match(refused.headers.get("x-ratelimit-reset-requests") ?? "", /^\d+(\.\d+)?s$/);
    const body = (await refused.json()) as { error: Record<string, unknown> };
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.equal(body.error.type, "requests");
    assert.match(String(body.error.message), /team-rpm.*requests per min \(RPM\): Limit 2/);
    assert.ok(!String(body.error.message).includes("rpm-key"), "the key is never echoed");
    // The SDK raises it as RateLimitError.
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "rpm-key", maxRetries: 0 });
    await assert.rejects(client.chat.completions.create(chat), (e: unknown) => e instanceof OpenAI.RateLimitError);
  });

  it("refuses once the key's tokens (prompt + completion, from usage) reached its tpm, streams counted too", async () => {
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "tpm-key", maxRetries: 0 });
    const stream = await client.chat.completions
      .create({ ...chat, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(stream.response.headers.get("x-ratelimit-limit-tokens"), "20");
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream.data) usage = chunk.usage ?? usage;
    assert.ok(usage && usage.total_tokens > 20, `usage ${JSON.stringify(usage)}`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the close hook settles the usage
    const refused = await post("tpm-key", chat);
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { error: Record<string, unknown> };
    assert.equal(body.error.type, "tokens");
    assert.equal(body.error.code, "rate_limit_exceeded");
    const overdraft = usage.total_tokens - 20;
    const retryAfter = Number(refused.headers.get("retry-after"));
    // 20 tokens a minute: 3 s per token of overdraft, less what refilled since.
    assert.ok(
      retryAfter <= overdraft * 3 + 1 && retryAfter >= overdraft * 3 - 10,
      `Retry-After ${retryAfter} for ${overdraft} tokens over`,
    );
  });

  it("leaves keys without limits alone, and counts every key's usage in /metrics by name", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await post("free-key", chat);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-limit-requests"), null);
      await res.json();
    }
    const text = await metricsText();
    assert.equal(metric(text, "lavash_key_requests_total", { key: "api-key-1" }), 4);
    assert.equal(metric(text, "lavash_key_requests_total", { key: "team-rpm" }), 2, "admitted requests only");
    assert.equal(metric(text, "lavash_key_rate_limited_total", { key: "team-rpm", limit: "requests" }), 2);
    assert.equal(metric(text, "lavash_key_rate_limited_total", { key: "team-tpm", limit: "tokens" }), 1);
    assert.ok((metric(text, "lavash_key_completion_tokens_total", { key: "api-key-1" }) ?? 0) > 0);
    assert.ok((metric(text, "lavash_key_prompt_tokens_total", { key: "team-tpm" }) ?? 0) > 0);
    assert.ok(!text.includes("free-key") && !text.includes("rpm-key") && !text.includes("tpm-key"));
  });
});
