// The client's pure parts: the SSE parser (line endings split anywhere, multi-line data,
// comments and other fields), the retry rules and delays, and the stream accumulators.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatCompletionAccumulator, CompletionAccumulator } from "../../src/client/accumulate.js";
import {
  APIError,
  BadRequestError,
  InternalServerError,
  LavashError,
  NotFoundError,
  RateLimitError,
} from "../../src/client/errors.js";
import { backoffMs, isRetryableResponse, retryAfterMs, retryDelayMs } from "../../src/client/retry.js";
import { SseParser } from "../../src/client/sse.js";
import type { ChatCompletionChunk, Completion } from "../../src/client/types.js";

/** Feeds `text` in pieces of `size` characters and collects the events (end() included). */
function parse(text: string, size: number): string[] {
  const parser = new SseParser();
  const events: string[] = [];
  for (let i = 0; i < text.length; i += size) events.push(...parser.feed(text.slice(i, i + size)));
  events.push(...parser.end());
  return events;
}

describe("SseParser", () => {
  const stream = [
    ": keepalive",
    "event: message",
    "id: 7",
    "retry: 100",
    'data: {"a":1}',
    "",
    "data:first",
    "data: second",
    "data",
    "",
    ": comment only",
    "",
    "event: ignored-without-data",
    "",
    "data: [DONE]",
    "",
  ];
  const expected = ['{"a":1}', "first\nsecond\n", "[DONE]"];

  for (const [name, eol] of [
    ["LF", "\n"],
    ["CRLF", "\r\n"],
    ["CR", "\r"],
  ] as const) {
    it(`splits events on blank lines with ${name} line endings, in pieces of any size`, () => {
      const text = stream.join(eol);
      for (const size of [1, 2, 3, 7, text.length]) assert.deepEqual(parse(text, size), expected, `pieces of ${size}`);
    });
  }

  it("reads a CRLF split across two pieces as one line end", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed("data: x\r"), []);
    assert.deepEqual(parser.feed("\n\r\n"), ["x"]);
  });

  it("keeps one leading space of a value only once, and colons after the first", () => {
    assert.deepEqual(parse("data:  two spaces\ndata: a: b\n\n", 100), [" two spaces\na: b"]);
  });

  it("dispatches a last event that lacks its blank line at the end of the body", () => {
    assert.deepEqual(parse('data: {"x":1}', 4), ['{"x":1}']);
  });
});

describe("retry rules", () => {
  const headers = (h: Record<string, string> = {}): Headers => new Headers(h);

  it("retries 408, 409, 429 and 5xx; x-should-retry overrides either way", () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504])
      assert.equal(isRetryableResponse(status, headers()), true, String(status));
    for (const status of [400, 401, 403, 404, 422])
      assert.equal(isRetryableResponse(status, headers()), false, String(status));
    assert.equal(isRetryableResponse(503, headers({ "x-should-retry": "false" })), false);
    assert.equal(isRetryableResponse(400, headers({ "x-should-retry": "true" })), true);
  });

  it("reads retry-after-ms first, then retry-after as seconds or an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    assert.equal(retryAfterMs(headers({ "retry-after-ms": "250", "retry-after": "9" }), now), 250);
    assert.equal(retryAfterMs(headers({ "retry-after": "2" }), now), 2000);
    assert.equal(retryAfterMs(headers({ "retry-after": "Wed, 01 Jan 2025 00:00:03 GMT" }), now), 3000);
    assert.equal(retryAfterMs(headers({ "retry-after-ms": "soon", "retry-after": "1.5" }), now), 1500);
    assert.equal(retryAfterMs(headers({ "retry-after": "never" }), now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });

  it("backs off 0.5 s doubling to 8 s, within ±25%", () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 9].map((n) => backoffMs(n, () => 0.5)),
      [500, 1000, 2000, 4000, 8000, 8000, 8000],
    );
    assert.equal(
      backoffMs(0, () => 0),
      375,
    );
    assert.equal(
      backoffMs(0, () => 1),
      625,
    );
    assert.equal(
      backoffMs(4, () => 1),
      10_000,
    );
  });

  it("waits for the server's hint when it is 0..60 s, else backs off", () => {
    const mid = (): number => 0.5;
    assert.equal(retryDelayMs(3, new Headers({ "retry-after-ms": "300" }), mid), 300);
    assert.equal(retryDelayMs(0, new Headers({ "retry-after-ms": "0" }), mid), 0);
    assert.equal(retryDelayMs(1, new Headers({ "retry-after": "120" }), mid), 1000);
    assert.equal(retryDelayMs(1, new Headers({ "retry-after-ms": "-5" }), mid), 1000);
    assert.equal(retryDelayMs(2, undefined, mid), 2000);
  });
});

describe("APIError.generate", () => {
  const h = new Headers({ "x-request-id": "req_1" });

  it("picks the class by status and reads OpenAI's error object", () => {
    const body = {
      error: { message: "Bad temperature", type: "invalid_request_error", param: "temperature", code: "invalid_value" },
    };
    const e = APIError.generate(400, body, JSON.stringify(body), h);
    assert.ok(e instanceof BadRequestError && e instanceof APIError && e instanceof LavashError);
    assert.equal(e.name, "BadRequestError");
    assert.equal(e.message, "400 Bad temperature");
    assert.deepEqual(
      [e.status, e.type, e.param, e.code, e.requestID],
      [400, "invalid_request_error", "temperature", "invalid_value", "req_1"],
    );
    assert.ok(APIError.generate(404, body, "", h) instanceof NotFoundError);
    assert.ok(APIError.generate(429, body, "", h) instanceof RateLimitError);
    assert.ok(APIError.generate(504, body, "", h) instanceof InternalServerError);
    assert.equal(APIError.generate(418, body, "", h).constructor, APIError);
  });

  it("takes a body that is not OpenAI's shape as the message", () => {
    const e = APIError.generate(502, undefined, "<html>Bad Gateway</html>\n", new Headers());
    assert.equal(e.message, "502 <html>Bad Gateway</html>");
    assert.equal(e.error, undefined);
    assert.equal(e.requestID, null);
    assert.equal(APIError.generate(500, undefined, "", new Headers()).message, "500 status code (no body)");
  });
});

describe("accumulators", () => {
  const head = {
    id: "chatcmpl-1",
    object: "chat.completion.chunk" as const,
    created: 1,
    model: "m",
    system_fingerprint: "fp",
  };
  const chunk = (
    choices: ChatCompletionChunk["choices"],
    usage?: ChatCompletionChunk["usage"],
  ): ChatCompletionChunk => ({ ...head, choices, ...(usage === undefined ? {} : { usage }) });
  const tok = (token: string) => ({ token, logprob: -1, bytes: null, top_logprobs: [] });

  it("chat: interleaved choices, content, logprobs, tool calls by index, reasoning and usage", () => {
    const acc = new ChatCompletionAccumulator({ logprobs: true, reasoning_format: "parsed" });
    const usage = {
      prompt_tokens: 3,
      completion_tokens: 5,
      total_tokens: 8,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    const chunks: ChatCompletionChunk[] = [
      chunk(
        [
          {
            index: 1,
            delta: { role: "assistant", content: "", refusal: null },
            logprobs: { content: [], refusal: null },
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk(
        [
          {
            index: 0,
            delta: {
              role: "assistant",
              content: null,
              refusal: null,
              tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } }],
            },
            logprobs: null,
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk([{ index: 1, delta: { reasoning_content: "hm" }, logprobs: null, finish_reason: null }], null),
      chunk(
        [
          {
            index: 1,
            delta: { content: "He" },
            logprobs: { content: [tok("He")], refusal: null },
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk(
        [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] },
            logprobs: null,
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk(
        [
          {
            index: 0,
            delta: {
              tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "" } }],
            },
            logprobs: null,
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk(
        [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: "1}" } }] },
            logprobs: null,
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk(
        [
          {
            index: 1,
            delta: { content: "llo" },
            logprobs: { content: [tok("llo")], refusal: null },
            finish_reason: null,
          },
        ],
        null,
      ),
      chunk([{ index: 1, delta: {}, logprobs: null, finish_reason: "length" }], null),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "tool_calls" }], null),
      chunk([], usage),
    ];
    for (const c of chunks) acc.add(c);
    assert.deepEqual(acc.result(), {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "m",
      system_fingerprint: "fp",
      usage,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            refusal: null,
            reasoning_content: null,
            tool_calls: [
              { id: "call_a", type: "function", function: { name: "f", arguments: '{"a":1}' } },
              { id: "call_b", type: "function", function: { name: "g", arguments: "" } },
            ],
          },
          logprobs: { content: [], refusal: null },
          finish_reason: "tool_calls",
        },
        {
          index: 1,
          message: { role: "assistant", content: "Hello", refusal: null, reasoning_content: "hm" },
          logprobs: { content: [tok("He"), tok("llo")], refusal: null },
          finish_reason: "length",
        },
      ],
    });
  });

  it("chat: no usage without include_usage, no logprobs or reasoning field unless asked for", () => {
    const acc = new ChatCompletionAccumulator({});
    acc.add(
      chunk([
        { index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null },
      ]),
    );
    acc.add(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]));
    const result = acc.result();
    assert.equal("usage" in result, false);
    assert.deepEqual(result.choices[0], {
      index: 0,
      message: { role: "assistant", content: "", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    });
  });

  it("chat: a choice without a finish_reason, or no chunk at all, is an error", () => {
    const acc = new ChatCompletionAccumulator({});
    assert.throws(() => acc.result(), LavashError);
    acc.add(chunk([{ index: 0, delta: { content: "x" }, logprobs: null, finish_reason: null }]));
    assert.throws(() => acc.result(), /finish_reason/);
  });

  it("legacy: text and logprobs per choice", () => {
    const acc = new CompletionAccumulator({ logprobs: 1 });
    const base = { id: "cmpl-1", object: "text_completion" as const, created: 2, model: "m", system_fingerprint: "fp" };
    const lp = (t: string, offset: number) => ({
      tokens: [t],
      token_logprobs: [-1],
      top_logprobs: [{ [t]: -1 }],
      text_offset: [offset],
    });
    const chunks: Completion[] = [
      { ...base, choices: [{ text: "a", index: 1, logprobs: lp("a", 0), finish_reason: null }] },
      { ...base, choices: [{ text: "b", index: 0, logprobs: lp("b", 0), finish_reason: null }] },
      { ...base, choices: [{ text: "c", index: 1, logprobs: lp("c", 1), finish_reason: null }] },
      { ...base, choices: [{ text: "", index: 1, logprobs: null, finish_reason: "length" }] },
      { ...base, choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }] },
    ];
    for (const c of chunks) acc.add(c);
    assert.deepEqual(acc.result(), {
      ...base,
      choices: [
        { text: "b", index: 0, logprobs: lp("b", 0), finish_reason: "stop" },
        {
          text: "ac",
          index: 1,
          logprobs: {
            tokens: ["a", "c"],
            token_logprobs: [-1, -1],
            top_logprobs: [{ a: -1 }, { c: -1 }],
            text_offset: [0, 1],
          },
          finish_reason: "length",
        },
      ],
    });
  });
});
