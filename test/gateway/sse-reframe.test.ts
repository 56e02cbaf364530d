// The upstream SSE parser (framing variants) and the chunk reframer (model name, usage, errors).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChunkReframer, ResponseEventReframer, SseParser, type SseEvent } from "../../src/gateway/sse-reframe.js";
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

describe("ResponseEventReframer", () => {
  const options = { model: "chat", replica: "r0" };
  const ev = (event: string | null, data: unknown) => ({
    event,
    data: typeof data === "string" ? data : JSON.stringify(data),
  });

  it("keeps names and sequence numbers, renames the model, keeps the id and usage, ends at the terminal event", () => {
    const r = new ResponseEventReframer(options);
    const created = r.event(
      ev("response.created", { type: "response.created", sequence_number: 0, response: { id: "resp_1", model: "up" } }),
    );
    assert.equal(created.kind, "chunks");
    assert.deepEqual(created.kind === "chunks" && created.chunks[0], {
      type: "response.created",
      sequence_number: 0,
      response: { id: "resp_1", model: "chat" },
    });
    assert.equal(r.responseId, "resp_1");
    // A payload without `type` takes the event line's name.
    const delta = r.event(ev("response.output_text.delta", { sequence_number: 1, delta: "hi" }));
    assert.deepEqual(delta.kind === "chunks" && delta.chunks[0], {
      type: "response.output_text.delta",
      sequence_number: 1,
      delta: "hi",
    });
    const done = r.event(
      ev(null, {
        type: "response.completed",
        sequence_number: 2,
        response: {
          id: "resp_1",
          model: "up",
          usage: { input_tokens: 5, output_tokens: 3, input_tokens_details: { cached_tokens: 2 } },
        },
      }),
    );
    assert.equal(done.kind, "done");
    assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } });
    assert.deepEqual(r.event(ev(null, "[DONE]")), { kind: "chunks", chunks: [] });
  });

  it("turns an error event (OpenAI's or lavash's) into an error, and a stream without its last event too", () => {
    const openai = new ResponseEventReframer(options).event(
      ev("error", { type: "error", sequence_number: 3, code: "server_error", message: "boom", param: null }),
    );
    assert.equal(openai.kind === "error" && openai.error.message, "boom");
    assert.equal(openai.kind === "error" && openai.error.code, "server_error");
    const lavash = new ResponseEventReframer(options).event(
      ev("error", { type: "error", error: { message: "bad", type: "invalid_request_error", code: "x", param: "p" } }),
    );
    assert.equal(lavash.kind === "error" && lavash.error.param, "p");
    const cut = new ResponseEventReframer(options);
    cut.event(ev("response.created", { type: "response.created", sequence_number: 0, response: {} }));
    const end = cut.end();
    assert.equal(end.kind, "error");
    assert.match(end.kind === "error" ? end.error.message : "", /ended the stream before its last event/);
    assert.equal(cut.lastSequence, 0);
  });
});
