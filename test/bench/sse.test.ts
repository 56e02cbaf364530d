import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  analyzeStream,
  decodeMsPerToken,
  decodeTokPerS,
  interTokenGaps,
  SseParser,
  tokenCount,
  ttftMs,
  type SseEvent,
} from "../../src/bench/sse.js";

const chunk = (text: string, finish: string | null = null): string =>
  `data: ${JSON.stringify({ object: "text_completion", choices: [{ index: 0, text, finish_reason: finish }] })}\n\n`;
const usage = (n: number): string =>
  `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: n, total_tokens: 5 + n } })}\n\n`;

describe("SseParser", () => {
  it("splits events and times each by the read that completed it", () => {
    const p = new SseParser();
    assert.deepEqual(p.push("data: a\n\nda", 1), [{ data: "a", at: 1 }]);
    assert.deepEqual(p.push("ta: b\n", 2), []);
    assert.deepEqual(p.push("\n", 3), [{ data: "b", at: 3 }]);
  });

  it("handles CRLF, a CRLF split across reads, and lone CR", () => {
    const p = new SseParser();
    assert.deepEqual(p.push("data: x\r", 1), []);
    assert.deepEqual(p.push("\n\r\n", 2), [{ data: "x", at: 2 }]);
    assert.deepEqual(p.push("data: y\r\rdata: z\n\n", 3), [
      { data: "y", at: 3 },
      { data: "z", at: 3 },
    ]);
  });

  it("ignores comments (keepalives) and other fields, joins multi-line data", () => {
    const p = new SseParser();
    const events = p.push(": keepalive\n\nevent: message\nid: 7\ndata: one\ndata:two\n\n", 5);
    assert.deepEqual(events, [{ data: "one\ntwo", at: 5 }]);
  });

  it("delivers an unterminated last event at end of stream", () => {
    const p = new SseParser();
    assert.deepEqual(p.push("data: [DONE]", 1), []);
    assert.deepEqual(p.end(9), [{ data: "[DONE]", at: 9 }]);
    assert.deepEqual(p.end(10), []);
  });
});

function parseAll(pieces: [string, number][]): SseEvent[] {
  const p = new SseParser();
  const events = pieces.flatMap(([text, at]) => p.push(text, at));
  return [...events, ...p.end(1000)];
}

describe("analyzeStream", () => {
  const events = parseAll([
    [chunk("Hello"), 110],
    [chunk(""), 120], // a held-back partial character: no text, no token time
    [chunk(" wor"), 150],
    [chunk("ld", "length") + usage(4), 170],
    ["data: [DONE]\n\n", 171],
  ]);

  it("times text chunks and reads usage and the finish reason", () => {
    const t = analyzeStream(events, 100, 172);
    assert.deepEqual(t.textTimes, [110, 150, 170]);
    assert.equal(t.usageTokens, 4);
    assert.equal(t.finishReason, "length");
    assert.equal(t.done, true);
    assert.equal(t.error, null);
  });

  it("derives TTFT, decode rate and inter-token gaps", () => {
    const t = analyzeStream(events, 100, 172);
    assert.equal(ttftMs(t), 10);
    assert.equal(tokenCount(t), 4);
    // (170 - 110) ms for the 3 tokens after the first.
    assert.equal(decodeMsPerToken(t), 20);
    assert.equal(decodeTokPerS(t), 50);
    assert.deepEqual(interTokenGaps(t), [40, 20]);
  });

  it("counts text chunks when the server sends no usage", () => {
    const t = analyzeStream(
      parseAll([
        [chunk("a"), 1],
        [chunk("b", "length"), 2],
        ["data: [DONE]\n\n", 3],
      ]),
      0,
      3,
    );
    assert.equal(t.usageTokens, null);
    assert.equal(tokenCount(t), 2);
  });

  it("reads chat chunks (delta.content)", () => {
    const chat = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] })}\n\n`;
    const t = analyzeStream(
      parseAll([
        [chat, 7],
        ["data: [DONE]\n\n", 8],
      ]),
      0,
      8,
    );
    assert.deepEqual(t.textTimes, [7]);
  });

  it("reports error events, truncated streams and transport errors", () => {
    const err = `data: ${JSON.stringify({ error: { message: "boom", type: "server_error" } })}\n\n`;
    assert.equal(
      analyzeStream(
        parseAll([
          [chunk("a"), 1],
          [err, 2],
        ]),
        0,
        2,
      ).error,
      "boom",
    );
    assert.match(analyzeStream(parseAll([[chunk("a"), 1]]), 0, 2).error ?? "", /ended before/);
    assert.equal(analyzeStream([], 0, 2, "request error: ECONNREFUSED").error, "request error: ECONNREFUSED");
  });

  it("reads prompt and cached tokens from the usage chunk", () => {
    const u = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1030, completion_tokens: 1, total_tokens: 1031, prompt_tokens_details: { cached_tokens: 1010 } } })}\n\n`;
    const t = analyzeStream(
      parseAll([
        [chunk("a", "length") + u, 5],
        ["data: [DONE]\n\n", 6],
      ]),
      0,
      6,
    );
    assert.equal(t.promptTokens, 1030);
    assert.equal(t.cachedTokens, 1010);
    const plain = analyzeStream(events, 100, 172);
    assert.equal(plain.promptTokens, 5);
    assert.equal(plain.cachedTokens, null);
  });

  it("a stream the client cancelled is not an error", () => {
    const t = analyzeStream(
      parseAll([
        [chunk("a"), 1],
        [chunk("b"), 2],
      ]),
      0,
      3,
      null,
      true,
    );
    assert.equal(t.error, null);
    assert.equal(t.cancelled, true);
    assert.deepEqual(t.textTimes, [1, 2]);
  });

  it("has no decode rate with fewer than two tokens", () => {
    const t = analyzeStream(
      parseAll([
        [chunk("a", "stop") + usage(1), 5],
        ["data: [DONE]\n\n", 6],
      ]),
      0,
      6,
    );
    assert.equal(decodeMsPerToken(t), null);
    assert.equal(ttftMs(t), 5);
  });
});
