// Work at the edges is bounded and answered in OpenAI's shape, never with a 500: prompts of any
// size beyond the context (400 context_length_exceeded, without tokenizing megabytes), bodies over
// --max-body-size (413, even while the client is still sending), too many choices in one request,
// tool messages that answer no call; and a 500 that does happen is logged with its request id.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { pino } from "pino";
import { EngineError } from "../../../src/engine/errors.js";
import type {
  EmbeddingResult,
  Engine,
  EngineStatus,
  Generation,
  GenerationEvent,
  ModelInfo,
  TokenizeResult,
} from "../../../src/engine/types.js";
import { startServer } from "../../../src/server/app.js";
import { listenTestApp, startTestServer, type TestApp, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer(); // the tiny model, 1,024-token sequences
});
after(async () => {
  await server?.close();
});

const MB = 1024 * 1024;

async function expectBadRequest(
  promise: Promise<unknown>,
  expected: { param: string | null; code: string | null; message: RegExp },
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${String(error)}`);
    assert.equal(error.param, expected.param);
    assert.equal(error.code, expected.code);
    assert.match(error.message, expected.message);
    return true;
  });
}

async function post(
  root: string,
  path: string,
  body: unknown,
): Promise<{ status: number; headers: Headers; body: { error: Record<string, unknown> } }> {
  const res = await fetch(`${root}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { error: Record<string, unknown> } };
}

/**
 * Sends `head` and `start` of a request on a raw socket and never the rest; resolves with what
 * the server answered once it closes the connection. An answer proves it came before the body.
 */
function sendPartially(root: string, head: string, start: Buffer): Promise<string> {
  const { hostname, port } = new URL(root);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 10 s; got: ${received.slice(0, 200)}`));
    }, 10_000);
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    // Writing into a connection the server closed may fail; the answer has arrived by then.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(head);
    socket.write(start);
  });
}

describe("prompts beyond the context", () => {
  const huge = "hello world ".repeat(Math.ceil(1.5e6 / 12)); // 1.5 MB, about 250,000 tokens

  it("refuses a 1.5 MB chat prompt with 400 context_length_exceeded, at once", async () => {
    const started = performance.now();
    await expectBadRequest(
      server.client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: huge }],
        max_tokens: 1,
      }),
      {
        param: "messages",
        code: "context_length_exceeded",
        message:
          /maximum context length is 1024 tokens\. However, your messages \(1500\d{3} bytes of text\) cannot be fewer than \d+ tokens/,
      },
    );
    // Refused by its byte length: tokenizing it would take most of a second on its own.
    assert.ok(performance.now() - started < 5000);
  });

  it("counts a prompt that may fit exactly, and refuses it with the count", async () => {
    const words = Array.from({ length: 20_000 }, (_, i) => `word${i % 100}`).join(" ");
    await expectBadRequest(
      server.client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: words }] }),
      {
        param: "messages",
        code: "context_length_exceeded",
        message: /maximum context length is 1024 tokens\. However, your messages resulted in \d{5} tokens/,
      },
    );
  });

  it("tokenizes a prompt of 130,000 tokens without overflowing the stack (was a 500)", async () => {
    // 260,000 bytes: under the byte bound (1,024 tokens x 256 bytes), so it is tokenized.
    const content = "a ".repeat(130_000);
    await expectBadRequest(
      server.client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content }] }),
      {
        param: "messages",
        code: "context_length_exceeded",
        message: /However, your messages resulted in 1300\d\d tokens/,
      },
    );
  });

  it("refuses a huge legacy prompt, text or token ids, with param prompt", async () => {
    await expectBadRequest(server.client.completions.create({ model: "tiny", prompt: huge, max_tokens: 1 }), {
      param: "prompt",
      code: "context_length_exceeded",
      message: /your prompt \(1500\d{3} bytes of text\) cannot be fewer than/,
    });
    await expectBadRequest(
      server.client.completions.create({ model: "tiny", prompt: [huge.slice(0, 100), huge], max_tokens: 1 }),
      {
        param: "prompt",
        code: "context_length_exceeded",
        message: /maximum context length is 1024 tokens/,
      },
    );
    await expectBadRequest(
      server.client.completions.create({ model: "tiny", prompt: new Array<number>(200_000).fill(1), max_tokens: 1 }),
      {
        param: "prompt",
        code: "context_length_exceeded",
        message: /your prompt resulted in 200000 tokens/,
      },
    );
    await expectBadRequest(
      server.client.completions.create({ model: "tiny", prompt: "x", suffix: huge, max_tokens: 1 }),
      {
        param: "prompt",
        code: "context_length_exceeded",
        message: /cannot be fewer than/,
      },
    );
  });

  it("refuses a huge embedding input with param input", async () => {
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: ["short", huge] }), {
      param: "input",
      code: "context_length_exceeded",
      message: /your input 1 \(1500\d{3} bytes of text\) cannot be fewer than/,
    });
  });

  it("refuses embedding inputs over 300,000 tokens together, as OpenAI does", async () => {
    // 301 inputs of about 1,000 tokens: each fits the context, together they pass the limit.
    const input = Array.from({ length: 301 }, () => "hello ".repeat(1000));
    await assert.rejects(server.client.embeddings.create({ model: "tiny", input }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.type, "max_tokens_per_request");
      assert.equal(error.code, "max_tokens_per_request");
      assert.match(error.message, /Requested (at least )?\d{6} tokens, max 300000 tokens per request/);
      return true;
    });
  });

  it("refuses to tokenize text that cannot fit the context, and still counts what may", async () => {
    const refused = await post(server.root, "/tokenize", { model: "tiny", prompt: huge });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "context_length_exceeded");
    const chat = await post(server.root, "/tokenize", { model: "tiny", messages: [{ role: "user", content: huge }] });
    assert.equal(chat.status, 400);
    assert.equal(chat.body.error.param, "messages");
    // /tokenize is for counting: past the context, but not past the byte bound, it counts.
    const counted = await fetch(`${server.root}/tokenize`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "hello ".repeat(3000) }),
    });
    assert.equal(counted.status, 200);
    assert.ok(((await counted.json()) as { count: number }).count >= 3000);
  });
});

describe("request bodies over --max-body-size", () => {
  let small: TestApp;
  before(async () => {
    small = await listenTestApp(server.engine, { bodyLimit: 64 * 1024 });
  });
  after(async () => {
    await small?.app.close();
  });

  it("answers a 10 MB body with 413 at the default 8 MiB limit, in OpenAI's shape with the limit", async () => {
    const body = JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "x".repeat(10_000_000) }] });
    const res = await post(server.baseURL, "/chat/completions", body);
    assert.equal(res.status, 413);
    assert.deepEqual(Object.keys(res.body.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(res.body.error.type, "invalid_request_error");
    assert.equal(res.body.error.code, "request_too_large");
    assert.match(
      String(res.body.error.message),
      /larger than this server's limit of 8 MiB \(8388608 bytes\).*--max-body-size/,
    );
    assert.match(res.headers.get("x-request-id") ?? "", /^req_/);
  });

  it("takes a body under the limit", async () => {
    const res = await fetch(`${small.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi ".repeat(100) }], max_tokens: 1 }),
    });
    assert.equal(res.status, 200);
  });

  it("answers 413 from the Content-Length alone, before the body is sent, and closes", async () => {
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${100 * MB}\r\n\r\n`;
    const answer = await sendPartially(small.root, head, Buffer.from('{"model":"tiny","messages":['));
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    assert.match(answer, /"code":"request_too_large"/);
    assert.match(answer, /\(104857600 bytes\) is larger than this server's limit of 64 KiB \(65536 bytes\)/);
  });

  it("answers 413 once a chunked body passes the limit, while the client is still sending", async () => {
    const head =
      "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    const chunk = " ".repeat(16 * 1024);
    const chunks = Buffer.from(
      Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join(""),
    ); // 128 KiB, no last chunk
    const answer = await sendPartially(small.root, head, chunks);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /limit of 64 KiB/);
  });
});

describe("choices per request", () => {
  it("refuses 2,000 prompts x n=64 naming the prompts, and too large an n naming n", async () => {
    const prompts = Array.from({ length: 2000 }, (_, i) => `prompt ${i}`);
    await expectBadRequest(server.client.completions.create({ model: "tiny", prompt: prompts, n: 64, max_tokens: 1 }), {
      param: "prompt",
      code: "invalid_value",
      message: /holds 2000 prompts.*at most 128 choices/,
    });
    await expectBadRequest(
      server.client.completions.create({ model: "tiny", prompt: ["a", "b", "c"], n: 64, max_tokens: 1 }),
      {
        param: "n",
        code: "invalid_value",
        message: /192 choices \(3 prompts x n = 64\).*at most 128/,
      },
    );
    await expectBadRequest(
      server.client.completions.create({
        model: "tiny",
        prompt: Array.from({ length: 7 }, () => "a"),
        best_of: 20,
        max_tokens: 1,
      }),
      {
        param: "best_of",
        code: "invalid_value",
        message: /140 choices/,
      },
    );
  });

  it("serves prompts x n within the limit, choice index = prompt x n + j", async () => {
    const res = await server.client.completions.create({
      model: "tiny",
      prompt: ["a", "b"],
      n: 3,
      max_tokens: 1,
      seed: 1,
    });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2, 3, 4, 5],
    );
  });
});

describe("tool messages", () => {
  it("must answer a call of the preceding assistant message, as OpenAI requires", async () => {
    await expectBadRequest(
      server.client.chat.completions.create({
        model: "tiny",
        messages: [
          { role: "user", content: "Weather?" },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
        ],
      }),
      {
        param: "messages[1].role",
        code: "invalid_value",
        message: /messages with role 'tool' must be a response to a preceeding message with 'tool_calls'/,
      },
    );
    await expectBadRequest(
      server.client.chat.completions.create({
        model: "tiny",
        messages: [
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "call_2", content: "sunny" },
        ],
      }),
      {
        param: "messages[2].tool_call_id",
        code: "invalid_value",
        message: /'call_2' not found in 'tool_calls' of previous message/,
      },
    );
  });
});

/** An engine that fails as no real one can on cue: with a plain exception, before or while streaming. */
class FailingEngine implements Engine {
  readonly state = "ready" as const;
  midStream = false;
  listModels(): ModelInfo[] {
    return [{ id: "failing", created: 0, ownedBy: "test" }];
  }
  getModel(id: string): ModelInfo | undefined {
    return this.listModels().find((m) => m.id === id);
  }
  async generate(): Promise<Generation> {
    if (!this.midStream) throw new RangeError("Maximum call stack size exceeded (forced by the test)");
    async function* events(): AsyncGenerator<GenerationEvent> {
      yield { type: "text", index: 0, text: "Hello", logprobs: null };
      throw new TypeError("Cannot read properties of undefined (forced by the test)");
    }
    return Object.assign(events(), { promptTokens: 1 });
  }
  status(): EngineStatus {
    return {
      state: "ready",
      models: ["failing"],
      sequences: [],
      queued: 0,
      stats: { decodeSteps: 0, sequencesDecoded: 0, promptTokensEvaluated: 0, tokensGenerated: 0 },
    };
  }
  async tokenize(): Promise<TokenizeResult> {
    throw new EngineError("unsupported", "no tokenizer");
  }
  async detokenize(): Promise<string> {
    throw new EngineError("unsupported", "no tokenizer");
  }
  async embed(): Promise<EmbeddingResult> {
    throw new EngineError("unsupported", "no embeddings");
  }
  async close(): Promise<void> {}
}

describe("a 500 that remains", () => {
  const engine = new FailingEngine();
  const lines: Record<string, unknown>[] = [];
  let baseURL: string;
  let close: () => Promise<void>;
  before(async () => {
    const logger = pino(
      { level: "info" },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const app = await startServer({ engine, logger, host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === "string") throw new Error("no address");
    baseURL = `http://127.0.0.1:${address.port}/v1`;
    close = () => app.close();
  });
  after(async () => {
    await close?.();
  });

  const body = { model: "failing", messages: [{ role: "user", content: "hi" }] };
  const errorLines = (requestId: string) => lines.filter((l) => l.level === 50 && l.reqId === requestId);

  it("is logged at error level with the request id and the cause; the client gets OpenAI's generic 500", async () => {
    engine.midStream = false;
    const res = await post(baseURL, "/chat/completions", body);
    assert.equal(res.status, 500);
    assert.equal(res.body.error.type, "server_error");
    assert.doesNotMatch(String(res.body.error.message), /stack/); // the cause stays in the log
    const id = res.headers.get("x-request-id")!;
    const logged = errorLines(id);
    assert.equal(logged.length, 1, JSON.stringify(lines));
    assert.match(String(logged[0]!.msg), /RangeError: Maximum call stack size exceeded \(forced by the test\)/);
    assert.match(String((logged[0]!.err as { stack?: unknown }).stack), /RangeError/);
  });

  it("is logged the same way when it breaks off a stream", async () => {
    engine.midStream = true;
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true }),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /data: \{"error":/);
    const logged = errorLines(res.headers.get("x-request-id")!);
    assert.equal(logged.length, 1, JSON.stringify(lines));
    assert.match(String(logged[0]!.msg), /TypeError: Cannot read properties of undefined \(forced by the test\)/);
  });
});
