// The upstream SSE parser (framing variants) and the chunk reframer (model name, usage, errors).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChunkReframer, SseParser, type SseEvent } from "../../src/gateway/sse-reframe.js";
import { upstreamError } from "../../src/gateway/upstream-errors.js";

function parseAll(pieces: string[]): SseEvent[] {
  const p = new SseParser();
  return [...pieces.flatMap((x) => p.feed(x)), ...p.end()];
}

describe("SseParser", () => {
  it("reads LF, CRLF and CR line ends, split anywhere, with event lines, comments and multi-line data", () => {
    const text = ': hello\r\nevent: message\r\ndata: {"a":1}\r\n\r\ndata: x\rdata: y\r\rid: 3\nretry: 10\ndata:z\n\n';
    const expected = [
      { event: "message", data: '{"a":1}' },
      { event: null, data: "x\ny" },
      { event: null, data: "z" },
    ];
    assert.deepEqual(parseAll([text]), expected);
    for (let cut = 1; cut < text.length; cut++)
      assert.deepEqual(parseAll([text.slice(0, cut), text.slice(cut)]), expected, `cut at ${cut}`);
  });

  it("dispatches a last event without its blank line, and skips a BOM", () => {
    assert.deepEqual(parseAll(["\ufeffdata: 1\n\ndata: 2"]), [
      { event: null, data: "1" },
      { event: null, data: "2" },
    ]);
    assert.deepEqual(parseAll(["data: 2\n"]), [{ event: null, data: "2" }]);
    assert.deepEqual(parseAll([": only a comment\n\n"]), []);
  });
});

const chunk = (content: string, usage?: unknown) => ({
  id: "c1",
  object: "chat.completion.chunk",
  model: "upstream-name",
  choices: [{ index: 0, delta: { content }, finish_reason: null }],
  ...(usage === undefined ? {} : { usage }),
});
const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
const ev = (data: unknown, event: string | null = null): SseEvent => ({
  event,
  data: typeof data === "string" ? data : JSON.stringify(data),
});

describe("ChunkReframer", () => {
  it("renames the model, drops usage the client did not ask for", () => {
    const r = new ChunkReframer({ includeUsage: false, model: "chat", replica: "r0" });
    const step = r.event(ev(chunk("hi", null)));
    assert.deepEqual(step, {
      kind: "chunks",
      chunks: [{ id: "c1", object: "chat.completion.chunk", model: "chat", choices: chunk("hi").choices }],
    });
    assert.deepEqual(r.event(ev({ ...chunk("x"), choices: [], usage })), { kind: "chunks", chunks: [] });
    assert.deepEqual(r.event(ev("[DONE]")), { kind: "done", chunks: [] });
    assert.deepEqual(r.usage, usage, "still counted for the server's metrics");
  });

  it("include_usage: usage null on chunks, one usage chunk at the end even when the upstream put it on a content chunk", () => {
    const r = new ChunkReframer({ includeUsage: true, model: "chat", replica: "r0" });
    const a = r.event(ev(chunk("a")));
    assert.equal(a.kind === "chunks" && a.chunks[0]!.usage, null);
    const b = r.event(ev(chunk("b", usage)));
    assert.equal(b.kind === "chunks" && b.chunks[0]!.usage, null);
    const end = r.end(); // no [DONE] from the upstream
    assert.equal(end.kind, "done");
    assert.deepEqual(end.kind === "done" && end.chunks, [{ ...chunk("b"), model: "chat", choices: [], usage }]);
  });

  it("include_usage with an upstream that sends none: no usage chunk is invented", () => {
    const r = new ChunkReframer({ includeUsage: true, model: "chat", replica: "r0" });
    r.event(ev(chunk("a")));
    assert.deepEqual(r.end(), { kind: "done", chunks: [] });
  });

  it("error events and error objects become errors; other non-JSON data is skipped", () => {
    const r = new ChunkReframer({ includeUsage: false, model: "chat", replica: "r0" });
    assert.deepEqual(r.event(ev("ping")), { kind: "chunks", chunks: [] });
    const step = r.event(ev({ error: { message: "boom", type: "server_error", code: "x" } }));
    assert.equal(step.kind, "error");
    assert.equal(step.kind === "error" && step.error.message, "boom");
    const r2 = new ChunkReframer({ includeUsage: false, model: "chat", replica: "r0" });
    const s2 = r2.event(ev("overloaded", "error"));
    assert.equal(s2.kind === "error" && s2.error.message, "overloaded");
  });
});

describe("upstreamError", () => {
  it("maps the engines' error shapes onto OpenAI's, keeping meaningful statuses", () => {
    const openai = upstreamError(
      400,
      JSON.stringify({ error: { message: "bad", type: "invalid_request_error", param: "n", code: null } }),
      null,
      "r",
    );
    assert.deepEqual([openai.status, openai.message, openai.param], [400, "bad", "n"]);
    const vllm = upstreamError(
      400,
      JSON.stringify({ object: "error", message: "too long", type: "BadRequestError", code: 400 }),
      null,
      "r",
    );
    assert.deepEqual([vllm.status, vllm.message, vllm.type, vllm.code], [400, "too long", "BadRequestError", "400"]);
    const tgi = upstreamError(
      422,
      JSON.stringify({ error: "Input validation error", error_type: "validation" }),
      null,
      "r",
    );
    assert.deepEqual([tgi.status, tgi.message, tgi.type], [422, "Input validation error", "validation"]);
    const limited = upstreamError(429, JSON.stringify({ detail: "slow down" }), "3", "r");
    assert.deepEqual([limited.status, limited.message, limited.headers["Retry-After"]], [429, "slow down", "3"]);
    const auth = upstreamError(401, "nope", null, "r");
    assert.deepEqual([auth.status, auth.code], [502, "upstream_auth_failed"]);
    const crash = upstreamError(500, "<html>oops</html>", null, "r");
    assert.deepEqual([crash.status, crash.type, crash.message], [502, "server_error", "<html>oops</html>"]);
  });
});
