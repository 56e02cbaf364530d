// The gateway in front of stand-in upstreams (node:http servers in the test) that behave as other
// engines do: a 429 with Retry-After, odd SSE framing without [DONE], a stream that breaks, error
// bodies in other shapes. This gateway serves upstream models only: no local model is loaded.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { LavashServer } from "../../src/embed.js";
import { startGateway } from "./helpers.js";

interface StandIn {
  url: string;
  hits: { path: string; auth: string | undefined; body: Record<string, unknown> }[];
  server: Server;
}

async function standIn(handle: (body: Record<string, unknown>, res: ServerResponse) => void): Promise<StandIn> {
  const hits: StandIn["hits"] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      if (req.method === "GET") return void res.end("{}");
      const body = JSON.parse(text) as Record<string, unknown>;
      hits.push({ path: req.url ?? "", auth: req.headers.authorization, body });
      handle(body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `http://127.0.0.1:${address.port}/v1`, hits, server };
}

const completion = (content: string) => ({
  id: "cmpl-1",
  object: "chat.completion",
  created: 1,
  model: "upstream-model",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});
const chunk = (content: string, extra: Record<string, unknown> = {}) => ({
  id: "c-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "upstream-model",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
  ...extra,
});

let limited: StandIn;
let odd: StandIn;
let broken: StandIn;
let picky: StandIn;
let gateway: LavashServer;
let client: OpenAI;

before(async () => {
  limited = await standIn((_body, res) => {
    res.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
    res.end(JSON.stringify({ error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }));
  });
  // Streams with `event:` lines, comments and CRLF, usage on the last content chunk, no [DONE]
  // and no final blank line.
  odd = await standIn((body, res) => {
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify(completion("plain")));
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(": warming up\r\n\r\n");
    res.write(`event: message\r\ndata: ${JSON.stringify(chunk("Hel"))}\r\n\r\n`);
    res.write(
      `event: message\r\ndata: ${JSON.stringify(chunk("lo", { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }))}`,
    );
    res.end();
  });
  // One chunk, then the connection drops.
  broken = await standIn((_body, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(chunk("partial"))}\n\n`, () => setTimeout(() => res.socket?.destroy(), 50));
  });
  // vLLM's error shape.
  picky = await standIn((_body, res) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        object: "error",
        message: "max_tokens is too large",
        type: "BadRequestError",
        param: "max_tokens",
        code: 400,
      }),
    );
  });
  const quiet = { interval: 0 };
  gateway = await startGateway(
    [
      {
        id: "rl",
        replicas: [
          { base_url: limited.url, model: "m", api_key: "sk-limited" },
          { base_url: odd.url, model: "m", api_key: "sk-odd" },
        ],
        routing: { policy: "round_robin" },
        health_check: quiet,
      },
      { id: "odd", replicas: [{ base_url: odd.url, model: "upstream-model" }], health_check: quiet },
      { id: "broken", replicas: [{ base_url: broken.url }], retries: 0, health_check: quiet },
      { id: "picky", replicas: [{ base_url: picky.url }], health_check: quiet },
    ],
    { apiKeys: ["client-key"] },
  );
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: "client-key", maxRetries: 0 });
});
after(async () => {
  await gateway?.close(5);
  for (const s of [limited, odd, broken, picky]) s?.server.close();
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };

describe("gateway in front of stand-in upstreams", () => {
  it("skips a replica answering 429 with Retry-After, and keeps skipping it until then", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create({
        model: "rl",
        ...ask,
        max_tokens: 5,
        vendor_extension: { x: 1 },
      } as never);
      assert.equal((r as { choices: { message: { content: string } }[] }).choices[0]!.message.content, "plain");
    }
    assert.equal(limited.hits.length, 1, "tried once, then left alone for its Retry-After");
    const hit = odd.hits.at(-1)!;
    assert.equal(hit.path, "/v1/chat/completions");
    assert.equal(hit.auth, "Bearer sk-odd", "the replica's key, not the client's");
    assert.equal(limited.hits[0]!.auth, "Bearer sk-limited");
    assert.equal(hit.body.model, "m");
    assert.deepEqual(hit.body.vendor_extension, { x: 1 }, "unknown fields pass through");
  });

  it("gives the openai client a clean stream from `event:` lines, comments, CRLF and no [DONE]", async () => {
    let text = "";
    const chunks = [];
    for await (const c of await client.chat.completions.create({ model: "odd", ...ask, stream: true })) {
      chunks.push(c);
      text += c.choices[0]?.delta.content ?? "";
    }
    assert.equal(text, "Hello");
    assert.ok(chunks.every((c) => c.model === "odd" && !("usage" in c)));
    assert.deepEqual(odd.hits.at(-1)!.body.stream_options, { include_usage: true }, "usage always asked for");

    const withUsage = [];
    for await (const c of await client.chat.completions.create({
      model: "odd",
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    }))
      withUsage.push(c);
    assert.deepEqual(withUsage.at(-1)!.choices, []);
    assert.equal(withUsage.at(-1)!.usage?.completion_tokens, 2);
    assert.equal(withUsage.length, 3);

    const raw = await (
      await fetch(`${gateway.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer client-key", "content-type": "application/json" },
        body: JSON.stringify({ model: "odd", ...ask, stream: true }),
      })
    ).text();
    assert.match(raw, /^data: \{.*\}\n\ndata: \{.*\}\n\ndata: \[DONE\]\n\n$/s, raw);
  });

  it("ends a stream that broke after its first byte with an OpenAI-shaped error", async () => {
    const stream = await client.chat.completions.create({ model: "broken", ...ask, stream: true });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
      })(),
      (error: Error) => error instanceof OpenAI.APIError && /broke off/.test(error.message),
    );
    assert.equal(text, "partial");
    assert.equal(broken.hits.length, 1, "never retried once streaming began");
  });

  it("maps an upstream's error body to OpenAI's shape, keeping a 400", async () => {
    const error = await client.chat.completions.create({ model: "picky", ...ask }).catch((e: unknown) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.message, "400 max_tokens is too large");
    assert.equal(error.param, "max_tokens");
    assert.equal(picky.hits.length, 1, "a 400 is not retried");
  });

  it("answers 401 to a client without a key (client keys are the gateway's)", async () => {
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "odd", ...ask }),
    });
    assert.equal(res.status, 401);
  });
});
