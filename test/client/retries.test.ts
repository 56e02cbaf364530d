// Retries, timeouts, aborts and stream failures, against a scripted loopback server (the real
// server will not fail on demand): what is retried and how long the client waits, what is not
// retried (4xx, x-should-retry: false, a stream that has started), and which error comes out.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  BadRequestError,
  InternalServerError,
  Lavash,
  RateLimitError,
} from "../../src/client/index.js";
import {
  chatChunk,
  errorBody,
  json,
  openStream,
  scriptedServer,
  type Script,
  type ScriptedServer,
} from "./scripted-server.js";

const servers: ScriptedServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(script: Script): Promise<ScriptedServer> {
  const server = await scriptedServer(script);
  servers.push(server);
  return server;
}

const chat = { model: "m", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 2 };
const completion = {
  id: "chatcmpl-x",
  object: "chat.completion",
  created: 1,
  model: "m",
  system_fingerprint: "fp",
  choices: [
    { index: 0, message: { role: "assistant", content: "ok", refusal: null }, logprobs: null, finish_reason: "stop" },
  ],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, prompt_tokens_details: { cached_tokens: 0 } },
};
const unavailable = errorBody("Loading", "service_unavailable");

const gaps = (s: ScriptedServer): number[] => s.requests.slice(1).map((r, i) => r.at - s.requests[i]!.at);

describe("retries", () => {
  it("retries two 503s with exponential backoff and succeeds on the third request", async () => {
    const server = await serve((_req, res, n) => (n < 2 ? json(res, 503, unavailable) : json(res, 200, completion)));
    const client = new Lavash({ baseURL: server.baseURL });
    const res = await client.chat.completions.create(chat);
    assert.equal(res.choices[0]!.message.content, "ok");
    assert.equal(server.requests.length, 3);
    const [first, second] = gaps(server);
    // 0.5 s then 1 s, each within ±25%.
    assert.ok(first! >= 375 && second! >= 750, `gaps ${gaps(server).join(", ")}`);
    // Every try sends the same request.
    assert.equal(new Set(server.requests.map((r) => r.body)).size, 1);
  });

  it("honours retry-after-ms, then retry-after in seconds", async () => {
    const server = await serve((_req, res, n) => {
      if (n === 0)
        json(res, 429, errorBody("slow down", "rate_limit_exceeded", null, "requests"), {
          "retry-after-ms": "300",
          "retry-after": "5",
        });
      else if (n === 1) json(res, 503, unavailable, { "retry-after": "0.2" });
      else json(res, 200, completion);
    });
    const client = new Lavash({ baseURL: server.baseURL });
    await client.chat.completions.create(chat);
    assert.equal(server.requests.length, 3);
    const [first, second] = gaps(server);
    // Timers count whole milliseconds: allow 1 ms of rounding against performance.now().
    assert.ok(first! >= 299 && first! < 2000, `retry-after-ms 300: waited ${first}`);
    assert.ok(second! >= 199 && second! < 2000, `retry-after 0.2: waited ${second}`);
  });

  it("gives up after maxRetries with the last error's class", async () => {
    const server = await serve((_req, res) =>
      json(res, 429, errorBody("slow down", "rate_limit_exceeded", null, "requests"), { "retry-after-ms": "10" }),
    );
    const client = new Lavash({ baseURL: server.baseURL, maxRetries: 3 });
    await assert.rejects(
      client.chat.completions.create(chat),
      (e) => e instanceof RateLimitError && e.status === 429 && e.code === "rate_limit_exceeded",
    );
    assert.equal(server.requests.length, 4);
    // Per call.
    await assert.rejects(client.chat.completions.create(chat, { maxRetries: 0 }), RateLimitError);
    assert.equal(server.requests.length, 5);
  });

  it("x-should-retry: false stops retries of a 5xx; true retries even a 400", async () => {
    const never = await serve((_req, res) =>
      json(res, 504, errorBody("too slow", "request_timeout"), {
        "x-should-retry": "false",
        "x-request-id": "req_abc",
      }),
    );
    await assert.rejects(new Lavash({ baseURL: never.baseURL }).chat.completions.create(chat), (e) => {
      assert.ok(e instanceof InternalServerError);
      assert.deepEqual([e.status, e.code, e.requestID], [504, "request_timeout", "req_abc"]);
      return true;
    });
    assert.equal(never.requests.length, 1);

    const always = await serve((_req, res, n) =>
      n === 0
        ? json(res, 400, errorBody("try again"), { "x-should-retry": "true", "retry-after-ms": "0" })
        : json(res, 200, completion),
    );
    await new Lavash({ baseURL: always.baseURL }).chat.completions.create(chat);
    assert.equal(always.requests.length, 2);
  });

  it("does not retry a 400, and reads param, code and request id from it", async () => {
    const server = await serve((_req, res) =>
      json(res, 400, errorBody("Invalid value for 'top_k'", "invalid_value", "top_k", "invalid_request_error"), {
        "x-request-id": "req_0123",
      }),
    );
    await assert.rejects(
      new Lavash({ baseURL: server.baseURL }).chat.completions.create({ ...chat, top_k: -5 }),
      (e) => {
        assert.ok(e instanceof BadRequestError);
        assert.deepEqual(
          [e.status, e.type, e.param, e.code, e.requestID],
          [400, "invalid_request_error", "top_k", "invalid_value", "req_0123"],
        );
        assert.equal(e.message, "400 Invalid value for 'top_k'");
        return true;
      },
    );
    assert.equal(server.requests.length, 1);
  });

  it("retries a dropped connection, and reports one that keeps failing as APIConnectionError", async () => {
    const flaky = await serve((_req, res, n) => (n === 0 ? res.socket?.destroy() : json(res, 200, completion)));
    await new Lavash({ baseURL: flaky.baseURL }).chat.completions.create(chat);
    assert.equal(flaky.requests.length, 2);

    const dead = await serve((_req, res) => res.socket?.destroy());
    await assert.rejects(
      new Lavash({ baseURL: dead.baseURL, maxRetries: 1 }).models.list(),
      (e) => e instanceof APIConnectionError && !(e instanceof APITimeoutError),
    );
    assert.equal(dead.requests.length, 2);
  });
});

describe("timeouts and aborts", () => {
  const silent: Script = () => {};

  it("raises APITimeoutError when the server never answers", async () => {
    const server = await serve(silent);
    const client = new Lavash({ baseURL: server.baseURL, timeout: 200, maxRetries: 0 });
    const start = performance.now();
    await assert.rejects(client.chat.completions.create(chat), APITimeoutError);
    const took = performance.now() - start;
    assert.ok(took >= 199 && took < 5000, `took ${took}`);
    assert.equal(server.requests.length, 1);
  });

  it("retries a timed-out request like a connection error (per-call timeout)", async () => {
    const server = await serve((_req, res, n) => (n === 0 ? undefined : json(res, 200, completion)));
    const client = new Lavash({ baseURL: server.baseURL });
    await client.chat.completions.create(chat, { timeout: 150 });
    assert.equal(server.requests.length, 2);
  });

  it("the caller's signal aborts a pending request, and is not retried", async () => {
    const server = await serve(silent);
    const client = new Lavash({ baseURL: server.baseURL });
    await assert.rejects(client.chat.completions.create(chat, { signal: AbortSignal.timeout(100) }), APIUserAbortError);
    assert.equal(server.requests.length, 1);
    // Already aborted: nothing is sent.
    await assert.rejects(client.models.list({ signal: AbortSignal.abort() }), APIUserAbortError);
    assert.equal(server.requests.length, 1);
  });

  it("the caller's signal also cuts the wait before a retry", async () => {
    const server = await serve((_req, res) => json(res, 503, unavailable, { "retry-after-ms": "10000" }));
    const controller = new AbortController();
    const start = performance.now();
    setTimeout(() => controller.abort(), 150);
    await assert.rejects(
      new Lavash({ baseURL: server.baseURL }).chat.completions.create(chat, { signal: controller.signal }),
      APIUserAbortError,
    );
    assert.ok(performance.now() - start < 5000);
    assert.equal(server.requests.length, 1);
  });
});

describe("streams", () => {
  it("never retries once the stream has started: one chunk, then the connection breaks", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      res.write(`data: ${JSON.stringify(chatChunk("Hel"))}\n\n`, () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const stream = await new Lavash({ baseURL: server.baseURL, maxRetries: 2 }).chat.completions.create({
      ...chat,
      stream: true,
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
      })(),
      (e) => e instanceof APIConnectionError && !(e instanceof APITimeoutError),
    );
    assert.deepEqual(seen, ["Hel"]);
    assert.equal(server.requests.length, 1);
    await assert.rejects(stream.finalCompletion(), APIConnectionError);
  });

  it("retries the initial response of a stream (a 503 before any event)", async () => {
    const server = await serve((_req, res, n) => {
      if (n === 0) return json(res, 503, unavailable, { "retry-after-ms": "0" });
      openStream(res);
      res.end(
        `data: ${JSON.stringify(chatChunk("ok"))}\n\ndata: ${JSON.stringify(chatChunk("", "stop"))}\n\ndata: [DONE]\n\n`,
      );
    });
    const stream = await new Lavash({ baseURL: server.baseURL }).chat.completions.create({ ...chat, stream: true });
    const final = await stream.finalCompletion();
    assert.equal(final.choices[0]!.message.content, "ok");
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.headers.accept, "text/event-stream");
  });

  it("a mid-stream error event throws APIError without a status; keepalives and CRLF are read", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      res.end(
        `: keepalive\r\n\r\ndata: ${JSON.stringify(chatChunk("a"))}\r\n\r\n: keepalive\r\n\r\n` +
          `data: ${JSON.stringify(errorBody("The request took longer than the server's limit", "request_timeout"))}\r\n\r\n`,
      );
    });
    const stream = await new Lavash({ baseURL: server.baseURL }).chat.completions.create({ ...chat, stream: true });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
      })(),
      (e) => {
        assert.ok(e instanceof APIError);
        assert.deepEqual(
          [e.status, e.code, e.type, e.requestID],
          [undefined, "request_timeout", "server_error", "req_stream"],
        );
        assert.equal(e.message, "The request took longer than the server's limit");
        return true;
      },
    );
    assert.deepEqual(seen, ["a"]);
  });

  it("a stream that ends without [DONE] is an error", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      res.end(`data: ${JSON.stringify(chatChunk("a", "stop"))}\n\n`);
    });
    const stream = await new Lavash({ baseURL: server.baseURL }).chat.completions.create({ ...chat, stream: true });
    await assert.rejects(stream.finalCompletion(), /\[DONE\]/);
  });

  it("the timeout bounds the silence inside a stream", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      // Chunks every 100 ms outlast the 250 ms timeout in total, then the server goes quiet.
      let sent = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify(chatChunk(String(sent)))}\n\n`);
        if (++sent === 4) clearInterval(timer);
      }, 100);
    });
    const stream = await new Lavash({ baseURL: server.baseURL, timeout: 250 }).chat.completions.create({
      ...chat,
      stream: true,
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
      })(),
      APITimeoutError,
    );
    assert.deepEqual(seen, ["0", "1", "2", "3"]);
    assert.equal(server.requests.length, 1);
  });
  it("time the loop's body spends on a chunk does not count against the timeout", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      res.end(
        ["a", "b"].map((t) => `data: ${JSON.stringify(chatChunk(t))}\n\n`).join("") +
          `data: ${JSON.stringify(chatChunk("", "stop"))}\n\ndata: [DONE]\n\n`,
      );
    });
    const stream = await new Lavash({ baseURL: server.baseURL, timeout: 100 }).chat.completions.create({
      ...chat,
      stream: true,
    });
    await new Promise((r) => setTimeout(r, 200));
    for await (const _chunk of stream) await new Promise((r) => setTimeout(r, 200));
    assert.equal((await stream.finalCompletion()).choices[0]!.message.content, "ab");
  });

  it("abort() passes on no further chunk, even of events already read", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      // All in one write, and the stream left open.
      res.write(["a", "b", "c", "d"].map((t) => `data: ${JSON.stringify(chatChunk(t))}\n\n`).join(""));
    });
    const stream = await new Lavash({ baseURL: server.baseURL }).chat.completions.create({ ...chat, stream: true });
    const seen: string[] = [];
    for await (const chunk of stream) {
      seen.push(chunk.choices[0]?.delta.content ?? "");
      stream.abort();
    }
    assert.deepEqual(seen, ["a"]);
    await assert.rejects(stream.finalCompletion(), APIUserAbortError);
  });

  it("the caller's signal stops a running stream with APIUserAbortError", async () => {
    const server = await serve((_req, res) => {
      openStream(res);
      res.write(`data: ${JSON.stringify(chatChunk("a"))}\n\n`);
    });
    const controller = new AbortController();
    const stream = await new Lavash({ baseURL: server.baseURL }).chat.completions.create(
      { ...chat, stream: true },
      { signal: controller.signal },
    );
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          seen.push(chunk.choices[0]?.delta.content ?? "");
          setTimeout(() => controller.abort(), 50);
        }
      })(),
      APIUserAbortError,
    );
    assert.deepEqual(seen, ["a"]);
  });
});

describe("requests", () => {
  it("sends the key as a Bearer token, per-call headers, and encodes model ids", async () => {
    const server = await serve((req, res) =>
      json(res, 200, { id: decodeURIComponent(req.url.split("/").pop()!), object: "model", created: 0, owned_by: "x" }),
    );
    const client = new Lavash({ baseURL: `${server.baseURL}/`, apiKey: "sk-test" });
    const model = await client.models.retrieve("org/model x", { headers: { "X-Trace": "1" } });
    assert.equal(model.id, "org/model x");
    const seen = server.requests[0]!;
    assert.equal(seen.url, "/v1/models/org%2Fmodel%20x");
    assert.equal(seen.method, "GET");
    assert.equal(seen.headers.authorization, "Bearer sk-test");
    assert.equal(seen.headers["x-trace"], "1");
    await client.models.retrieve("m", { headers: { Authorization: null } });
    assert.equal(server.requests[1]!.headers.authorization, undefined);
  });

  it("sends tokenize and detokenize to the server's root, not under /v1", async () => {
    const server = await serve((req, res) =>
      json(
        res,
        200,
        req.url === "/tokenize" ? { count: 1, max_model_len: 8, tokens: [5], token_strs: null } : { prompt: "x" },
      ),
    );
    const client = new Lavash({ baseURL: server.baseURL });
    assert.equal(client.rootURL, server.baseURL.replace(/\/v1$/, ""));
    assert.deepEqual((await client.tokenize({ prompt: "x" })).tokens, [5]);
    assert.equal((await client.detokenize({ tokens: [5] })).prompt, "x");
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.url, JSON.parse(r.body)]),
      [
        ["POST", "/tokenize", { prompt: "x" }],
        ["POST", "/detokenize", { tokens: [5] }],
      ],
    );
  });

  it("an answer that is not JSON is an error, not a crash", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway</html>");
    });
    await assert.rejects(
      new Lavash({ baseURL: server.baseURL, maxRetries: 0 }).models.list(),
      (e) => e instanceof InternalServerError && e.message === "502 <html>Bad Gateway</html>",
    );
  });
});
