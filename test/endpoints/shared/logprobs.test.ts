import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import {
  ChatStreamBuilder,
  buildChatCompletion,
  type ChatCompletionChunk,
} from "../../../src/endpoints/chat-completions/response.js";
import { CompletionStreamBuilder, buildCompletion } from "../../../src/endpoints/completions/response.js";
import {
  LOGPROB_FLOOR,
  chatLogprobEntries,
  concatLegacyLogprobs,
  legacyLogprobs,
  type LogprobInput,
} from "../../../src/endpoints/shared/logprobs.js";
import type { TokenLogprob } from "../../../src/engine/types.js";

const bytes = (s: string): number[] => [...Buffer.from(s, "utf8")];
const alt = (text: string, logprob: number): LogprobInput["top"][number] => ({ text, bytes: bytes(text), logprob });

/** "Hel" then "lo", each with three alternatives (the sampled token among them, as engines report). */
const hel: LogprobInput = {
  text: "Hel",
  bytes: bytes("Hel"),
  logprob: -0.5,
  top: [alt("Hel", -0.5), alt("He", -1.5), alt("H", -2)],
};
const lo: LogprobInput = {
  text: "lo",
  bytes: bytes("lo"),
  logprob: -2.5,
  top: [alt("p", -0.25), alt("l", -1), alt("lo", -2.5)],
};

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

describe("chat logprobs", () => {
  it("entries have every key, with exactly top_logprobs alternatives", () => {
    assert.deepEqual(chatLogprobEntries([hel], 2), [
      {
        token: "Hel",
        logprob: -0.5,
        bytes: [72, 101, 108],
        top_logprobs: [
          { token: "Hel", logprob: -0.5, bytes: [72, 101, 108] },
          { token: "He", logprob: -1.5, bytes: [72, 101] },
        ],
      },
    ]);
    for (const k of [0, 1, 2, 3]) {
      for (const entry of chatLogprobEntries([hel, lo], k)) assert.equal(entry.top_logprobs.length, k);
    }
    // The spec: top_logprobs is [] when 0 alternatives were asked for.
    assert.deepEqual(chatLogprobEntries([lo], 0)[0]?.top_logprobs, []);
    assert.deepEqual(chatLogprobEntries([], 5), []);
  });

  it("the engine's TokenLogprob is accepted as it is", () => {
    const engineToken: TokenLogprob = { token: 9707, text: "Hello", bytes: bytes("Hello"), logprob: -1, top: [] };
    assert.equal(chatLogprobEntries([engineToken], 0)[0]?.token, "Hello");
    assert.equal(legacyLogprobs([{ ...engineToken, offset: 0 }], 0).tokens[0], "Hello");
  });

  it("a token that splits a character keeps its exact bytes; -Infinity becomes OpenAI's floor", () => {
    const partial: LogprobInput = {
      text: "bytes:\\xe4\\xbd",
      bytes: [0xe4, 0xbd],
      logprob: -Infinity,
      top: [alt("x", -Infinity)],
    };
    const [entry] = chatLogprobEntries([partial], 1);
    assert.deepEqual(entry, {
      token: "bytes:\\xe4\\xbd",
      logprob: LOGPROB_FLOOR,
      bytes: [0xe4, 0xbd],
      top_logprobs: [{ token: "x", logprob: -9999, bytes: [120] }],
    });
    // JSON would have turned -Infinity into null.
    assert.equal(JSON.parse(JSON.stringify(entry)).logprob, -9999);
  });

  it("non-streaming choice: {content, refusal: null} when requested, null otherwise", () => {
    const body = buildChatCompletion({
      model: "m",
      choices: [
        { content: "Hello", finishReason: "stop", logprobs: chatLogprobEntries([hel, lo], 1) },
        { content: "Hello", finishReason: "stop" },
        { content: "Hello", finishReason: "stop", logprobs: null },
      ],
      usage: { promptTokens: 1, completionTokens: 2 },
    });
    assert.deepEqual(body.choices[0]?.logprobs, { content: chatLogprobEntries([hel, lo], 1), refusal: null });
    assert.equal(body.choices[1]?.logprobs, null);
    assert.equal(body.choices[2]?.logprobs, null);
  });

  it("is read by the SDK (non-streaming)", async () => {
    const body = buildChatCompletion({
      model: "m",
      choices: [{ content: "Hello", finishReason: "stop", logprobs: chatLogprobEntries([hel, lo], 2) }],
      usage: { promptTokens: 1, completionTokens: 2 },
    });
    const got = await clientAnswering(() => Response.json(body)).chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      logprobs: true,
      top_logprobs: 2,
    });
    assert.deepEqual(got.choices[0]?.logprobs, { content: chatLogprobEntries([hel, lo], 2), refusal: null });
  });

  it("stream chunks: role chunk with an empty list, content chunks with their own tokens, finish with null", () => {
    const b = new ChatStreamBuilder({ model: "m", includeUsage: false });
    assert.deepEqual(b.roleChunk(0, true).choices[0]?.logprobs, { content: [], refusal: null });
    assert.equal(b.roleChunk(0).choices[0]?.logprobs, null);
    assert.equal(b.roleChunk(1, false).choices[0]?.index, 1);
    const entries = chatLogprobEntries([hel], 1);
    assert.deepEqual(b.contentChunk(0, "Hel", entries).choices[0], {
      index: 0,
      delta: { content: "Hel" },
      logprobs: { content: entries, refusal: null },
      finish_reason: null,
    });
    assert.equal(b.contentChunk(0, "Hel").choices[0]?.logprobs, null);
    // Tokens whose text is held back (half a character) can still be reported.
    const held = b.contentChunk(
      0,
      "",
      chatLogprobEntries([{ text: "bytes:\\xe4", bytes: [0xe4], logprob: -1, top: [] }], 0),
    );
    assert.deepEqual(held.choices[0]?.delta, { content: "" });
    assert.equal(held.choices[0]?.logprobs?.content?.length, 1);
    assert.equal(b.finishChunk(0, "stop").choices[0]?.logprobs, null);
  });

  it("the SDK's .stream() reassembles the logprobs of every chunk, per choice", async () => {
    const b = new ChatStreamBuilder({ model: "m", includeUsage: true });
    const ni: LogprobInput = { text: "Hi", bytes: bytes("Hi"), logprob: -0.1, top: [alt("Hi", -0.1), alt("Yo", -3)] };
    const half: LogprobInput = {
      text: "bytes:\\xf0\\x9f",
      bytes: [0xf0, 0x9f],
      logprob: -0.7,
      top: [alt("!", -0.2), alt("?", -2)],
    };
    const rest: LogprobInput = {
      text: "bytes:\\x98\\x80",
      bytes: [0x98, 0x80],
      logprob: -0.3,
      top: [alt("bytes:\\x98\\x80", -0.3), alt("x", -4)],
    };
    const events: unknown[] = [
      b.roleChunk(0, true),
      b.roleChunk(1, true),
      b.contentChunk(0, "Hel", chatLogprobEntries([hel], 2)),
      b.contentChunk(1, "Hi", chatLogprobEntries([ni], 2)),
      b.contentChunk(0, "lo", chatLogprobEntries([lo], 2)),
      // An emoji split over two tokens: the first one's text waits for the second.
      b.contentChunk(1, "", chatLogprobEntries([half], 2)),
      b.contentChunk(1, "😀", chatLogprobEntries([rest], 2)),
      b.finishChunk(0, "stop"),
      b.finishChunk(1, "length"),
      b.usageChunk({ promptTokens: 2, completionTokens: 5, cachedTokens: 1 }) as ChatCompletionChunk,
      "[DONE]",
    ];
    const stream = clientAnswering(() => sse(events)).chat.completions.stream({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, "Hello");
    assert.deepEqual(final.choices[0]?.logprobs, { content: chatLogprobEntries([hel, lo], 2), refusal: null });
    assert.equal(final.choices[1]?.message.content, "Hi😀");
    assert.deepEqual(final.choices[1]?.logprobs, { content: chatLogprobEntries([ni, half, rest], 2), refusal: null });
    // The bytes of a choice's tokens rebuild its text exactly, split characters included.
    const allBytes = final.choices[1]!.logprobs!.content!.flatMap((e) => e.bytes ?? []);
    assert.equal(Buffer.from(allBytes).toString("utf8"), "Hi😀");
    assert.deepEqual(final.usage?.prompt_tokens_details, { cached_tokens: 1 });
  });
});

describe("legacy logprobs", () => {
  const helAt = { ...hel, offset: 5 };
  const loAt = { ...lo, offset: 8 };

  it("parallel arrays; each dict has the k alternatives plus the sampled token", () => {
    assert.deepEqual(legacyLogprobs([helAt, loAt], 1), {
      tokens: ["Hel", "lo"],
      token_logprobs: [-0.5, -2.5],
      // "Hel" is its own best alternative: one key. "lo" is not in the top 1: two keys.
      top_logprobs: [{ Hel: -0.5 }, { p: -0.25, lo: -2.5 }],
      text_offset: [5, 8],
    });
    const k2 = legacyLogprobs([helAt, loAt], 2).top_logprobs;
    assert.deepEqual(k2, [
      { Hel: -0.5, He: -1.5 },
      { p: -0.25, l: -1, lo: -2.5 },
    ]);
    for (const k of [0, 1, 2, 3, 5]) {
      for (const [i, dict] of legacyLogprobs([helAt, loAt], k).top_logprobs.entries()) {
        assert.ok(dict !== null);
        const keys = Object.keys(dict);
        assert.ok(keys.length <= k + 1 && keys.length >= Math.min(k, 3), `k=${k}: ${keys.join(",")}`);
        assert.ok(keys.includes(i === 0 ? "Hel" : "lo"), "the sampled token is always there");
      }
    }
  });

  it("logprobs: 0 gives just the sampled token", () => {
    assert.deepEqual(legacyLogprobs([helAt, loAt], 0).top_logprobs, [{ Hel: -0.5 }, { lo: -2.5 }]);
  });

  it("echo: the first prompt token has a null logprob and a null dict", () => {
    const prompt = legacyLogprobs(
      [
        { text: "Say", bytes: bytes("Say"), logprob: 0, top: [], offset: 0 },
        { text: " hi", bytes: bytes(" hi"), logprob: -4, top: [alt(" hello", -1)], offset: 3 },
      ],
      1,
      { firstIsNull: true },
    );
    assert.deepEqual(prompt, {
      tokens: ["Say", " hi"],
      token_logprobs: [null, -4],
      top_logprobs: [null, { " hello": -1, " hi": -4 }],
      text_offset: [0, 3],
    });
    const completion = legacyLogprobs([{ ...hel, offset: 6 }], 1);
    assert.deepEqual(concatLegacyLogprobs(prompt, completion), {
      tokens: ["Say", " hi", "Hel"],
      token_logprobs: [null, -4, -0.5],
      top_logprobs: [null, { " hello": -1, " hi": -4 }, { Hel: -0.5 }],
      text_offset: [0, 3, 6],
    });
    assert.deepEqual(legacyLogprobs([], 1, { firstIsNull: true }), {
      tokens: [],
      token_logprobs: [],
      top_logprobs: [],
      text_offset: [],
    });
  });

  it("keys that collide keep the better value; '__proto__' is an ordinary key", () => {
    const odd: LogprobInput = {
      text: "__proto__",
      bytes: bytes("__proto__"),
      logprob: -3,
      top: [alt("a", -1), alt("a", -2)],
    };
    const [dict] = legacyLogprobs([{ ...odd, offset: 0 }], 2).top_logprobs;
    assert.deepEqual(Object.keys(dict!), ["a", "__proto__"]);
    assert.equal(dict!.a, -1);
    assert.equal(Object.getPrototypeOf(dict), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(dict)), JSON.parse('{"a":-1,"__proto__":-3}'));
  });

  it("responses and chunks carry them; the SDK reads both", async () => {
    const lp = legacyLogprobs([helAt, loAt], 1);
    const body = buildCompletion({
      model: "m",
      choices: [
        { text: "Hello", finishReason: "length", logprobs: lp },
        { text: "Hello", finishReason: "length" },
      ],
      usage: { promptTokens: 1, completionTokens: 2 },
    });
    assert.deepEqual(body.choices[0]?.logprobs, lp);
    assert.equal(body.choices[1]?.logprobs, null);
    const got = await clientAnswering(() => Response.json(body)).completions.create({
      model: "m",
      prompt: "x",
      logprobs: 1,
    });
    assert.deepEqual(got.choices[0]?.logprobs, lp);

    const b = new CompletionStreamBuilder({ model: "m", includeUsage: false });
    const first = legacyLogprobs([helAt], 1);
    const second = legacyLogprobs([loAt], 1);
    assert.deepEqual(b.textChunk(0, "Hel", first).choices[0]?.logprobs, first);
    assert.equal(b.textChunk(0, "Hel").choices[0]?.logprobs, null);
    assert.equal(b.finishChunk(0, "stop").choices[0]?.logprobs, null);
    const events = [b.textChunk(0, "Hel", first), b.textChunk(0, "lo", second), b.finishChunk(0, "length"), "[DONE]"];
    const stream = await clientAnswering(() => sse(events)).completions.create({
      model: "m",
      prompt: "x",
      logprobs: 1,
      stream: true,
    });
    const offsets: number[] = [];
    for await (const chunk of stream) offsets.push(...(chunk.choices[0]?.logprobs?.text_offset ?? []));
    assert.deepEqual(offsets, [5, 8]);
  });
});
