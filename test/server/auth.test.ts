// API keys: with keys configured every API route needs `Authorization: Bearer <key>` and a wrong
// or missing key is OpenAI's 401 (the SDK raises AuthenticationError); /health and /metrics stay
// open unless protected; with no keys the server is open.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { listenTestApp, startTestServer, type TestApp, type TestServer } from "../helpers/server.js";

const keys = ["sk-lavash-first", "second-key"];
let server: TestServer;
let strict: TestApp;
let open: TestApp;
before(async () => {
  server = await startTestServer({ parallel: 2 }, { auth: { keys } });
  // More apps over the same engine: every route protected, and none.
  strict = await listenTestApp(server.engine, { auth: { keys, protectHealth: true, protectMetrics: true } });
  open = await listenTestApp(server.engine);
});
after(async () => {
  await strict?.app.close();
  await open?.app.close();
  await server?.close();
});

const chat = { model: "tiny", messages: [{ role: "user" as const, content: "Hi" }], max_tokens: 3, seed: 1 };

function clientWith(baseURL: string, apiKey: string): OpenAI {
  return new OpenAI({ baseURL, apiKey, maxRetries: 0 });
}

async function get(url: string, key?: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  return {
    status: res.status,
    headers: res.headers,
    body: res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text(),
  };
}

describe("API keys", () => {
  it("refuses a wrong key with OpenAI's 401, which the SDK raises as AuthenticationError", async () => {
    for (const call of [
      () => clientWith(server.baseURL, "sk-wrong").chat.completions.create(chat),
      () => clientWith(server.baseURL, "sk-wrong").models.list(),
      // Same length as a real key, one character off.
      () => clientWith(server.baseURL, "sk-lavash-firsT").chat.completions.create({ ...chat, stream: true }),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
        assert.equal(error.status, 401);
        assert.equal(error.code, "invalid_api_key");
        assert.equal(error.type, "invalid_request_error");
        assert.equal(error.param, null);
        assert.match(error.message, /Incorrect API key provided/);
        assert.ok(!error.message.includes("sk-wrong"), "the key is not echoed back");
        assert.match(error.requestID ?? "", /^req_/);
        return true;
      });
    }
  });

  it("answers a missing key with a 401 that says how to send one", async () => {
    const res = await get(`${server.baseURL}/models`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), "Bearer");
    const body = res.body as { error: { message: string; type: string; param: null; code: string } };
    assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(body.error.code, "invalid_api_key");
    assert.match(body.error.message, /Authorization: Bearer/);
    // Not a bearer token at all.
    const basic = await fetch(`${server.baseURL}/models`, {
      headers: { authorization: "Basic c2stbGF2YXNoLWZpcnN0Og==" },
    });
    assert.equal(basic.status, 401);
  });

  it("serves every configured key", async () => {
    for (const key of keys) {
      const res = await clientWith(server.baseURL, key).chat.completions.create(chat);
      assert.equal(res.choices.length, 1);
      assert.equal(res.usage?.completion_tokens, 3);
    }
    const stream = await clientWith(server.baseURL, keys[1]!).chat.completions.create({ ...chat, stream: true });
    let finish: string | null = null;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    assert.equal(finish, "length");
  });

  it("protects the routes outside /v1 and unknown routes too", async () => {
    const tokenize = await fetch(`${server.root}/tokenize`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "hi" }),
    });
    assert.equal(tokenize.status, 401);
    assert.equal((await get(`${server.root}/nowhere`)).status, 401);
    assert.equal((await get(`${server.root}/nowhere`, keys[0])).status, 404);
  });

  it("leaves /health and /metrics open by default, and protects them when asked", async () => {
    assert.equal((await get(`${server.root}/health`)).status, 200);
    assert.equal((await get(`${server.root}/health?probe=1`)).status, 200);
    assert.equal((await get(`${server.root}/metrics`)).status, 200);
    for (const path of ["/health", "/metrics"]) {
      assert.equal((await get(`${strict.root}${path}`)).status, 401, path);
      assert.equal((await get(`${strict.root}${path}`, "nope")).status, 401, path);
      assert.equal((await get(`${strict.root}${path}`, keys[1])).status, 200, path);
    }
  });

  it("is open when no key is configured", async () => {
    const res = await clientWith(open.baseURL, "anything").chat.completions.create(chat);
    assert.equal(res.usage?.completion_tokens, 3);
    assert.equal((await get(`${open.baseURL}/models`)).status, 200);
  });
});
