// Under load: a full queue answers 429 with Retry-After (and the SDK's retry then gets through
// once a sequence frees), and a client that leaves during prefill frees its sequence before the
// prompt is evaluated.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startTestServer, waitForIdle, type TestServer } from "../helpers/server.js";

let server: TestServer;
before(async () => {
  // One sequence and no waiting room: a second concurrent request is over capacity.
  server = await startTestServer({ parallel: 1, maxQueue: 0, contextSize: 4096 });
});
after(async () => {
  await server?.close();
});

const ask = { model: "tiny", messages: [{ role: "user" as const, content: "hi" }], seed: 1 };

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** 429 answers so far, from /metrics. */
async function refused(): Promise<number> {
  const text = await (await fetch(`${server.root}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("lavash_http_requests_total{") && l.includes('status="429"'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const busy = async () => (await server.status()).sequences.some((s) => s.state !== "idle");

describe("overload", () => {
  it("answers 429 rate_limit_exceeded with Retry-After when full; the SDK retries and succeeds", async () => {
    // A stream holds the only sequence until the test lets it go.
    const holder = await server.client.chat.completions.create({ ...ask, max_tokens: 3000, stream: true });
    const holding = holder[Symbol.asyncIterator]();
    await holding.next();
    await until(busy, "the first request to run");

    const raw = await fetch(`${server.baseURL}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...ask, max_tokens: 2 }),
    });
    assert.equal(raw.status, 429);
    assert.equal(raw.headers.get("retry-after"), "1");
    assert.equal(raw.headers.get("retry-after-ms"), "1000");
    const body = (await raw.json()) as { error: { code: string; type: string } };
    assert.equal(body.error.code, "rate_limit_exceeded");
    await assert.rejects(
      server.client.chat.completions.create({ ...ask, max_tokens: 2 }),
      (e: unknown) => e instanceof OpenAI.RateLimitError,
    );

    // With retries the SDK waits Retry-After and tries again; it gets through once the holder
    // leaves, which happens only after its first try was refused.
    const refusedBefore = await refused();
    const patient = new OpenAI({ baseURL: server.baseURL, apiKey: "k", maxRetries: 5 });
    const answer = patient.chat.completions.create({ ...ask, max_tokens: 2 });
    await until(async () => (await refused()) > refusedBefore, "the patient client's first refusal");
    await holding.return?.();
    const res = await answer;
    assert.equal(res.choices.length, 1);
  });

  it("a client leaving during prefill frees the sequence before the prompt is evaluated", async () => {
    await waitForIdle(server);
    // ~3,000 tokens: evaluated over several decodes of at most --batch-size (512) tokens.
    const longPrompt = "word ".repeat(3000);
    const before = (await server.status()).stats.promptTokensEvaluated;
    const controller = new AbortController();
    const pending = server.client.completions.create(
      { model: "tiny", prompt: longPrompt, max_tokens: 5 },
      { signal: controller.signal },
    );
    await until(async () => (await server.status()).sequences.some((s) => s.state === "prefill"), "prefill");
    controller.abort();
    await assert.rejects(pending);
    const status = await waitForIdle(server, 5000);
    const evaluated = status.stats.promptTokensEvaluated - before;
    assert.ok(evaluated < 3000, `evaluated ${evaluated} of ~3000 prompt tokens`);
  });
});
