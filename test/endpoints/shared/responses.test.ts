import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import {
  ChatStreamBuilder,
  buildChatCompletion,
  type ChatCompletionChunk,
} from "../../../src/endpoints/chat-completions/response.js";
import { CompletionStreamBuilder, buildCompletion } from "../../../src/endpoints/completions/response.js";
import { buildModel, buildModelList } from "../../../src/endpoints/models/response.js";
import {
  SYSTEM_FINGERPRINT,
  newChatCompletionId,
  newCompletionId,
  newRequestId,
} from "../../../src/endpoints/shared/response-fields.js";
import {
  ApiError,
  contextLengthExceeded,
  invalidJson,
  invalidRequest,
  modelNotFound,
  rateLimited,
  routeNotFound,
  serverError,
  serviceUnavailable,
  toErrorBody,
} from "../../../src/endpoints/shared/errors.js";

/** A client whose every request is answered by `respond`, so the SDK's own parsing is exercised. */
function clientAnswering(respond: () => Response): OpenAI {
  return new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://lavash.invalid/v1",
    maxRetries: 0,
    fetch: async () => respond(),
  });
}

function sse(events: readonly unknown[]): Response {
  const text = events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");
  return new Response(text, { status: 200, headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

describe("ids", () => {
  it("have OpenAI's prefixes and are unique", () => {
    assert.match(newChatCompletionId(), /^chatcmpl-[0-9A-Za-z]{29}$/);
    assert.match(newCompletionId(), /^cmpl-[0-9A-Za-z]{29}$/);
    assert.match(newRequestId(), /^req_[0-9a-f]{32}$/);
    assert.notEqual(newChatCompletionId(), newChatCompletionId());
  });
});

describe("chat.completion", () => {
  it("has every required key", () => {
    const body = buildChatCompletion({
      id: "chatcmpl-x",
      created: 123,
      model: "m",
      choices: [{ content: "Hello", finishReason: "stop" }],
      usage: { promptTokens: 5, completionTokens: 2 },
    });
    assert.deepEqual(body, {
      id: "chatcmpl-x",
      object: "chat.completion",
      created: 123,
      model: "m",
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it("usage always carries prompt_tokens_details, with the cached prompt tokens", () => {
    const body = buildChatCompletion({
      model: "m",
      choices: [],
      usage: { promptTokens: 10, completionTokens: 3, cachedTokens: 8 },
    });
    assert.deepEqual(body.usage, {
      prompt_tokens: 10,
      completion_tokens: 3,
      total_tokens: 13,
      prompt_tokens_details: { cached_tokens: 8 },
    });
  });

  it("defaults id and created", () => {
    const body = buildChatCompletion({ model: "m", choices: [], usage: { promptTokens: 0, completionTokens: 0 } });
    assert.match(body.id, /^chatcmpl-/);
    assert.ok(Number.isInteger(body.created) && Math.abs(body.created - Date.now() / 1000) < 5);
  });

  it("is read by the SDK", async () => {
    const body = buildChatCompletion({
      model: "m",
      choices: [{ content: "Hi", finishReason: "length" }],
      usage: { promptTokens: 1, completionTokens: 1 },
    });
    const client = clientAnswering(() => Response.json(body));
    const got = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    assert.equal(got.choices[0]?.message.content, "Hi");
    assert.equal(got.choices[0]?.finish_reason, "length");
    assert.equal(got.usage?.total_tokens, 2);
  });
});

describe("chat.completion.chunk", () => {
  it("builds role, content, finish and usage chunks with fixed id and created", () => {
    const b = new ChatStreamBuilder({ id: "chatcmpl-s", created: 9, model: "m", includeUsage: true });
    const head = {
      id: "chatcmpl-s",
      object: "chat.completion.chunk",
      created: 9,
      model: "m",
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    assert.deepEqual(b.roleChunk(0), {
      ...head,
      choices: [
        { index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null },
      ],
      usage: null,
    });
    assert.deepEqual(b.contentChunk(0, "Hel"), {
      ...head,
      choices: [{ index: 0, delta: { content: "Hel" }, logprobs: null, finish_reason: null }],
      usage: null,
    });
    assert.deepEqual(b.finishChunk(0, "stop"), {
      ...head,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
      usage: null,
    });
    assert.deepEqual(b.usageChunk({ promptTokens: 3, completionTokens: 4 }), {
      ...head,
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it("carries no usage key at all without include_usage", () => {
    const b = new ChatStreamBuilder({ model: "m", includeUsage: false });
    assert.equal("usage" in b.roleChunk(), false);
    assert.equal("usage" in b.contentChunk(0, "x"), false);
    assert.equal(b.usageChunk({ promptTokens: 1, completionTokens: 1 }), null);
    assert.match(b.id, /^chatcmpl-/);
  });

  it("is assembled by the SDK's .stream() helper into the final completion", async () => {
    const b = new ChatStreamBuilder({ model: "m", includeUsage: true });
    const events: unknown[] = [
      b.roleChunk(0),
      b.contentChunk(0, "Hel"),
      b.contentChunk(0, "lo"),
      b.finishChunk(0, "stop"),
    ];
    events.push(b.usageChunk({ promptTokens: 2, completionTokens: 2 }) as ChatCompletionChunk, "[DONE]");
    const client = clientAnswering(() => sse(events));
    const stream = client.chat.completions.stream({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    stream.on("content", (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    assert.deepEqual(deltas, ["Hel", "lo"]);
    assert.equal(final.id, b.id);
    assert.equal(final.choices[0]?.message.content, "Hello");
    assert.equal(final.choices[0]?.finish_reason, "stop");
    assert.equal(final.usage?.total_tokens, 4);
  });
});

describe("text_completion", () => {
  it("response has every required key", () => {
    assert.deepEqual(
      buildCompletion({
        id: "cmpl-x",
        created: 1,
        model: "m",
        choices: [{ text: " there", finishReason: "length" }],
        usage: { promptTokens: 1, completionTokens: 16 },
      }),
      {
        id: "cmpl-x",
        object: "text_completion",
        created: 1,
        model: "m",
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [{ text: " there", index: 0, logprobs: null, finish_reason: "length" }],
        usage: {
          prompt_tokens: 1,
          completion_tokens: 16,
          total_tokens: 17,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      },
    );
  });

  it("chunks use the same object name and a null finish_reason until the end", async () => {
    const b = new CompletionStreamBuilder({ id: "cmpl-s", created: 2, model: "m", includeUsage: true });
    const head = {
      id: "cmpl-s",
      object: "text_completion",
      created: 2,
      model: "m",
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    assert.deepEqual(b.textChunk(0, "a"), {
      ...head,
      choices: [{ text: "a", index: 0, logprobs: null, finish_reason: null }],
      usage: null,
    });
    assert.deepEqual(b.finishChunk(0, "stop"), {
      ...head,
      choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }],
      usage: null,
    });
    assert.deepEqual(b.usageChunk({ promptTokens: 1, completionTokens: 1 }), {
      ...head,
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, prompt_tokens_details: { cached_tokens: 0 } },
    });
    assert.equal(
      new CompletionStreamBuilder({ model: "m", includeUsage: false }).usageChunk({
        promptTokens: 1,
        completionTokens: 1,
      }),
      null,
    );

    const client = clientAnswering(() =>
      sse([b.textChunk(0, "a"), b.textChunk(0, "b"), b.finishChunk(0, "stop"), "[DONE]"]),
    );
    const stream = await client.completions.create({ model: "m", prompt: "x", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, "ab");
  });
});

describe("models", () => {
  it("list and single model", () => {
    const info = { id: "qwen/x", created: 100, ownedBy: "lavash" };
    assert.deepEqual(buildModel(info), { id: "qwen/x", object: "model", created: 100, owned_by: "lavash" });
    assert.deepEqual(buildModelList([info]), { object: "list", data: [buildModel(info)] });
  });
});

describe("errors", () => {
  it("bodies always carry message, type, param and code", () => {
    for (const e of [
      invalidRequest("bad"),
      invalidRequest("bad", "temperature", "decimal_above_max_value"),
      modelNotFound("x"),
      routeNotFound("POST", "/v1/nope"),
      invalidJson("Unexpected token"),
      serverError(),
      serviceUnavailable("loading"),
      rateLimited("queue full", 2),
      contextLengthExceeded("too long", "prompt"),
    ]) {
      const body = toErrorBody(e);
      assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
      assert.ok(e instanceof ApiError);
    }
  });

  it("factories match OpenAI's statuses, types and codes", () => {
    assert.deepEqual(toErrorBody(modelNotFound("gpt-x")), {
      error: {
        message: "The model `gpt-x` does not exist or you do not have access to it.",
        type: "invalid_request_error",
        param: null,
        code: "model_not_found",
      },
    });
    assert.equal(modelNotFound("gpt-x").status, 404);
    const route = routeNotFound("POST", "/v1/chat/complete");
    assert.equal(route.status, 404);
    assert.equal(route.message, "Invalid URL (POST /v1/chat/complete)");
    assert.equal(route.code, "unknown_url");
    const s = serverError();
    assert.equal(s.status, 500);
    assert.equal(s.type, "server_error");
    assert.equal(s.message, "The server had an error while processing your request. Sorry about that!");
    assert.equal(serviceUnavailable("x").status, 503);
    assert.deepEqual(serviceUnavailable("x", 1.5).headers, { "Retry-After": "2", "retry-after-ms": "1500" });
    const r = rateLimited("slow down", 0.25);
    assert.equal(r.status, 429);
    assert.equal(r.code, "rate_limit_exceeded");
    assert.deepEqual(r.headers, { "Retry-After": "1", "retry-after-ms": "250" });
    const c = contextLengthExceeded("too long");
    assert.equal(c.status, 400);
    assert.equal(c.param, "messages");
    assert.equal(c.code, "context_length_exceeded");
    assert.equal(invalidJson("x").status, 400);
    assert.match(
      invalidJson("Unexpected end").message,
      /^We could not parse the JSON body of your request\..*Unexpected end/,
    );
  });

  it("reach the SDK as its typed errors", async () => {
    const e = rateLimited("queue full", 1);
    const client = clientAnswering(
      () =>
        new Response(JSON.stringify(toErrorBody(e)), {
          status: e.status,
          headers: { "content-type": "application/json", ...e.headers },
        }),
    );
    await assert.rejects(client.models.list(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.code, "rate_limit_exceeded");
      assert.equal(err.type, "requests");
      return true;
    });
  });
});
