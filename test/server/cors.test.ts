// CORS for browser clients: a preflight from an allowed origin is answered 204 (no API key
// needed) with the methods and the headers the browser asked for; responses, streams and errors
// alike, carry Allow-Origin and expose the headers the SDKs read; other origins get nothing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { listenTestApp, startTestServer, type TestApp, type TestServer } from "../helpers/server.js";

const origin = "https://chat.example.com";
let server: TestServer;
let anyOrigin: TestApp;
let noCors: TestApp;
before(async () => {
  server = await startTestServer(
    { parallel: 2 },
    { auth: { keys: ["k1"] }, corsOrigins: [origin, "http://localhost:5173"] },
  );
  anyOrigin = await listenTestApp(server.engine, { corsOrigins: ["*"] });
  noCors = await listenTestApp(server.engine);
});
after(async () => {
  await anyOrigin?.app.close();
  await noCors?.app.close();
  await server?.close();
});

// What a browser sends before the SDK's POST (header names as browsers list them: lower case, sorted).
const requested =
  "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,x-stainless-retry-count";

function preflight(url: string, from: string, headers = requested): Promise<Response> {
  return fetch(url, {
    method: "OPTIONS",
    headers: { origin: from, "access-control-request-method": "POST", "access-control-request-headers": headers },
  });
}

function post(url: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
}

const chat = { model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 3 };

describe("CORS", () => {
  it("answers a preflight from an allowed origin without an API key", async () => {
    const res = await preflight(`${server.baseURL}/chat/completions`, origin);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), origin);
    assert.equal(res.headers.get("access-control-allow-methods"), "GET, POST, OPTIONS");
    assert.equal(res.headers.get("access-control-allow-headers"), requested);
    assert.match(res.headers.get("vary") ?? "", /Origin/);
    assert.ok(Number(res.headers.get("access-control-max-age")) > 0);
    // A preflight that names no headers gets the SDKs' list.
    const bare = await fetch(`${server.baseURL}/models`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET" },
    });
    assert.equal(bare.status, 204);
    assert.match(bare.headers.get("access-control-allow-headers") ?? "", /authorization.*x-stainless-retry-count/);
  });

  it("gives other origins no Allow headers", async () => {
    const res = await preflight(`${server.baseURL}/chat/completions`, "https://evil.example");
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.equal(res.headers.get("access-control-allow-headers"), null);
    const get = await fetch(`${server.baseURL}/models`, {
      headers: { origin: "https://evil.example", authorization: "Bearer k1" },
    });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("access-control-allow-origin"), null);
  });

  it("marks JSON answers, streams and errors for an allowed origin", async () => {
    const json = await post(`${server.baseURL}/chat/completions`, chat, { origin, authorization: "Bearer k1" });
    assert.equal(json.status, 200);
    await json.json();
    const stream = await post(
      `${server.baseURL}/chat/completions`,
      { ...chat, stream: true },
      { origin, authorization: "Bearer k1" },
    );
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.match(await stream.text(), /data: \[DONE\]/);
    const unauthorized = await post(`${server.baseURL}/chat/completions`, chat, { origin });
    assert.equal(unauthorized.status, 401);
    await unauthorized.json();
    for (const res of [json, stream, unauthorized]) {
      assert.equal(res.headers.get("access-control-allow-origin"), origin);
      assert.deepEqual(res.headers.get("access-control-expose-headers")?.split(", "), [
        "x-request-id",
        "retry-after",
        "retry-after-ms",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
      ]);
      assert.match(res.headers.get("x-request-id") ?? "", /^req_/);
    }
  });

  it("allows any origin with *", async () => {
    const res = await preflight(`${anyOrigin.baseURL}/chat/completions`, "https://anywhere.example");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const stream = await post(
      `${anyOrigin.baseURL}/chat/completions`,
      { ...chat, stream: true },
      { origin: "https://anywhere.example" },
    );
    await stream.text();
    assert.equal(stream.headers.get("access-control-allow-origin"), "*");
  });

  it("sends no CORS headers when no origin is configured", async () => {
    const res = await fetch(`${noCors.baseURL}/models`, { headers: { origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    const pre = await preflight(`${noCors.baseURL}/chat/completions`, origin);
    assert.equal(pre.headers.get("access-control-allow-origin"), null);
  });
});
