// The typed client against the real server and the real tiny model: every endpoint, streams
// rebuilt by finalCompletion() equal to the non-streamed answer for the same seed (text, logprobs,
// tool calls, usage), an abort in the middle of a stream, and errors with the server's details.
// Imported through the package's own `lavash/client` export.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Lavash, {
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  type ChatCompletion,
  type ChatCompletionCreateParams,
  type ChatCompletionTool,
  type CompletionUsage,
  type StreamedChatCompletion,
} from "lavash/client";
import { listenTestApp, startTestServer, waitForIdle, type TestApp, type TestServer } from "../helpers/server.js";

let server: TestServer;
let locked: TestApp;
let client: Lavash;
before(async () => {
  server = await startTestServer();
  locked = await listenTestApp(server.engine, { auth: { keys: ["sk-client-test"] } });
  client = new Lavash({ baseURL: server.baseURL, maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await locked?.app.close();
  await server?.close();
});

const messages = [{ role: "user" as const, content: "Say something." }];

/** What a stream and a plain request of the same seed share: all but id, created and the cache count. */
function comparable(res: ChatCompletion | StreamedChatCompletion) {
  return { model: res.model, choices: res.choices, usage: tokens(res.usage) };
}

function tokens(usage: CompletionUsage | null | undefined) {
  return usage == null ? usage : [usage.prompt_tokens, usage.completion_tokens, usage.total_tokens];
}

describe("chat completions", () => {
  it("answers a ChatCompletion", async () => {
    const res = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 5, seed: 1 });
    assert.equal(res.object, "chat.completion");
    assert.match(res.id, /^chatcmpl-/);
    assert.equal(res.choices.length, 1);
    assert.equal(typeof res.choices[0]!.message.content, "string");
    assert.equal(res.usage.completion_tokens, 5);
  });

  it("takes a typed `its` request and returns typed diagnostics", async () => {
    const res = await client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 4,
      seed: 2,
      its: { method: "best_of_n", n: 3, top_k: 2 },
    });
    assert.equal(res.choices.length, 2);
    assert.equal(res.its?.method, "best_of_n");
    assert.equal(res.its?.best_of_n?.scores.length, 3);
    assert.ok((res.its?.tokens_evaluated ?? 0) > 0);
  });

  it("a stream's finalCompletion() equals the non-streamed answer for the same seed (n, logprobs, usage, extensions)", async () => {
    const params: ChatCompletionCreateParams = {
      model: "tiny",
      messages,
      max_tokens: 8,
      seed: 42,
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      top_k: 40,
      min_p: 0.01,
      repetition_penalty: 1.1,
      reasoning_format: "parsed",
    };
    const plain = await client.chat.completions.create({ ...params, stream: false });
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.match(stream.requestID ?? "", /^req_[0-9a-f]{32}$/);
    let chunks = 0;
    let text = "";
    for await (const chunk of stream) {
      chunks++;
      for (const choice of chunk.choices) if (choice.index === 0) text += choice.delta.content ?? "";
    }
    assert.ok(chunks > 2);
    const final = await stream.finalCompletion();
    assert.equal(final.object, "chat.completion");
    assert.equal(final.choices[0]!.message.content, text);
    assert.deepEqual(comparable(final), comparable(plain));
    assert.equal(final.choices[1]!.logprobs!.content!.length, 8);
  });

  it("finalCompletion() without iterating first reads the stream itself; no usage unless asked for", async () => {
    const params = { model: "tiny", messages, max_tokens: 6, seed: 7 } as const;
    const plain = await client.chat.completions.create(params);
    const final = await (await client.chat.completions.create({ ...params, stream: true })).finalCompletion();
    assert.equal("usage" in final, false);
    assert.deepEqual(final.choices, plain.choices);
  });

  it("stream.abort() in the middle ends the loop, frees the sequence, and finalCompletion() rejects", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 400,
      seed: 3,
      stream: true,
    });
    let chunks = 0;
    for await (const _chunk of stream) {
      if (++chunks === 3) stream.abort();
    }
    assert.equal(chunks, 3);
    await assert.rejects(stream.finalCompletion(), APIUserAbortError);
    const idle = await waitForIdle(server);
    assert.equal(idle.queued, 0);
  });

  it("breaking out of the loop closes the request too", async () => {
    const stream = await client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 400,
      seed: 4,
      stream: true,
    });
    for await (const _chunk of stream) break;
    await assert.rejects(stream.finalCompletion(), APIUserAbortError);
    await waitForIdle(server);
  });

  it("tool calls rebuilt from a stream equal the non-streamed calls (names and arguments)", async () => {
    const tools: ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: {
            type: "object",
            properties: { city: { type: "string", maxLength: 8 }, days: { type: "integer", minimum: 1, maximum: 7 } },
            required: ["city", "days"],
            additionalProperties: false,
          },
        },
      },
      {
        type: "function",
        function: {
          name: "get_time",
          parameters: {
            type: "object",
            properties: { utc: { type: "boolean" } },
            required: ["utc"],
            additionalProperties: false,
          },
        },
      },
    ];
    const params = {
      model: "tiny",
      messages,
      tools,
      tool_choice: "required" as const,
      parallel_tool_calls: false,
      seed: 11,
      max_tokens: 30,
    };
    const plain = await client.chat.completions.create(params);
    const final = await (await client.chat.completions.create({ ...params, stream: true })).finalCompletion();
    const calls = (res: ChatCompletion | StreamedChatCompletion) =>
      res.choices.map((c) => ({
        finish: c.finish_reason,
        content: c.message.content,
        calls: (c.message.tool_calls ?? []).map((t) => [t.function.name, t.function.arguments]),
      }));
    // A call cut by max_tokens (finish_reason length) still compares: its arguments so far.
    assert.ok((plain.choices[0]!.message.tool_calls ?? []).length >= 1);
    assert.equal(plain.choices[0]!.message.content, null);
    assert.deepEqual(calls(final), calls(plain));
    for (const call of final.choices[0]!.message.tool_calls!) assert.match(call.id, /^call_/);
  });
});

describe("legacy completions", () => {
  it("answers, and a stream's finalCompletion() concatenates each choice's text and logprobs", async () => {
    const params = { model: "tiny", prompt: ["Once upon", "a time"], max_tokens: 8, seed: 5, n: 2, logprobs: 2 };
    const plain = await client.completions.create(params);
    assert.equal(plain.object, "text_completion");
    assert.equal(plain.choices.length, 4);
    const stream = await client.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts = new Map<number, string>();
    for await (const chunk of stream)
      for (const c of chunk.choices) texts.set(c.index, (texts.get(c.index) ?? "") + c.text);
    const final = await stream.finalCompletion();
    assert.deepEqual(final.choices, plain.choices);
    assert.deepEqual(tokens(final.usage), tokens(plain.usage));
    assert.deepEqual(
      final.choices.map((c) => c.text),
      [0, 1, 2, 3].map((i) => texts.get(i)),
    );
  });

  it("takes token-id prompts", async () => {
    const res = await client.completions.create({ model: "tiny", prompt: [[9707, 11, 1879]], max_tokens: 2 });
    assert.equal(res.usage?.prompt_tokens, 3);
  });
});

describe("models, embeddings, tokenize", () => {
  it("lists and retrieves models; an unknown id is NotFoundError", async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["tiny"],
    );
    assert.equal((await client.models.retrieve("tiny")).object, "model");
    await assert.rejects(
      client.models.retrieve("org/missing"),
      (e) => e instanceof NotFoundError && e.status === 404 && e.code === "model_not_found",
    );
  });

  it("embeds as floats or base64", async () => {
    const floats = await client.embeddings.create({ model: "tiny", input: ["hello", "world"] });
    assert.equal(floats.data.length, 2);
    const vector: number[] = floats.data[0]!.embedding;
    assert.equal(vector.length, 128);
    const base64 = await client.embeddings.create({ model: "tiny", input: "hello", encoding_format: "base64" });
    const encoded: string = base64.data[0]!.embedding;
    assert.equal(Buffer.from(encoded, "base64").length, 128 * 4);
  });

  it("tokenizes text and chats and detokenizes back", async () => {
    const text = "Hello, world!";
    const tok = await client.tokenize({ model: "tiny", prompt: text, return_token_strs: true });
    assert.equal(tok.count, tok.tokens.length);
    assert.equal(tok.token_strs?.join(""), text);
    assert.equal((await client.detokenize({ model: "tiny", tokens: tok.tokens })).prompt, text);
    const chat = await client.tokenize({ messages });
    const res = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 1 });
    assert.equal(chat.count, res.usage.prompt_tokens);
  });
});

describe("errors", () => {
  it("a 400 carries status, type, param, code and the request id", async () => {
    await assert.rejects(client.chat.completions.create({ model: "tiny", messages, temperature: 5 }), (e) => {
      assert.ok(e instanceof BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.type, "invalid_request_error");
      assert.equal(e.param, "temperature");
      assert.equal(e.code, "decimal_above_max_value");
      assert.match(e.requestID ?? "", /^req_[0-9a-f]{32}$/);
      assert.match(e.message, /^400 Invalid 'temperature'/);
      return true;
    });
  });

  it("a wrong API key is AuthenticationError; the right one is sent as a Bearer token", async () => {
    const params = { model: "tiny", messages, max_tokens: 1 };
    await assert.rejects(
      new Lavash({ baseURL: locked.baseURL, apiKey: "sk-wrong" }).chat.completions.create(params),
      (e) => e instanceof AuthenticationError && e.code === "invalid_api_key",
    );
    const res = await new Lavash({ baseURL: locked.baseURL, apiKey: "sk-client-test" }).chat.completions.create(params);
    assert.equal(res.choices.length, 1);
  });
});
