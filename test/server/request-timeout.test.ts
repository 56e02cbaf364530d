// --request-timeout: a generation that runs longer is stopped and its sequence freed; a JSON
// request gets a 504 the SDK does not retry, a stream ends with an error event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { listenTestApp, startTestServer, waitForIdle, type TestApp, type TestServer } from "../helpers/server.js";

const limit = 0.5;
let server: TestServer;
let relaxed: TestApp;
before(async () => {
  server = await startTestServer({ parallel: 2, contextSize: 4096 }, { requestTimeoutSeconds: limit });
  relaxed = await listenTestApp(server.engine, { requestTimeoutSeconds: 60 });
});
after(async () => {
  await relaxed?.app.close();
  await server?.close();
});

// Thousands of tokens: far beyond half a second on any machine.
const long = {
  model: "tiny",
  messages: [{ role: "user" as const, content: "Go on forever." }],
  max_tokens: 4000,
  seed: 1,
};

describe("request timeout", () => {
  it("answers a JSON request that runs too long with a 504 and frees its sequence", async () => {
    const before = (await server.status()).stats.tokensGenerated;
    const started = performance.now();
    // maxRetries left at the SDK's default: x-should-retry: false must stop it retrying.
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: "x" });
    await assert.rejects(client.chat.completions.create(long), (error: unknown) => {
      assert.ok(error instanceof OpenAI.InternalServerError, String(error));
      assert.equal(error.status, 504);
      assert.equal(error.type, "server_error");
      assert.equal(error.code, "request_timeout");
      assert.equal(error.headers.get("x-should-retry"), "false");
      assert.match(error.message, /longer than the server's limit of 0\.5 s/);
      return true;
    });
    const elapsed = (performance.now() - started) / 1000;
    assert.ok(elapsed < 15, `took ${elapsed} s: not retried, not run to the end`);
    const status = await waitForIdle(server, 5000);
    assert.ok(status.stats.tokensGenerated - before < long.max_tokens, "stopped before max_tokens");
  });

  it("ends a stream that runs too long with an error event", async () => {
    const stream = await server.client.chat.completions.create({ ...long, stream: true });
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError, String(error));
        assert.equal(error.status, undefined, "an error event, not an HTTP status");
        assert.match(error.message, /longer than the server's limit/);
        return true;
      },
    );
    assert.ok(chunks > 0, "the stream had started");
    await waitForIdle(server, 5000);
  });

  it("leaves requests that finish in time alone", async () => {
    const res = await relaxed.client.chat.completions.create({ ...long, max_tokens: 4 });
    assert.equal(res.usage?.completion_tokens, 4);
  });
});
