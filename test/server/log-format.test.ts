// What `lavash serve` shows in a terminal: one line per request (method, path, status, duration,
// tokens, tokens/s), one line per message, and log lines written above the progress line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TerminalLine } from "../../src/cli/progress.js";
import { formatEntry } from "../../src/server/logger.js";

const at = new Date(2026, 0, 2, 13, 4, 5).getTime();

describe("terminal log lines", () => {
  it("a request is one line with its tokens and tokens/s", () => {
    const entry = {
      level: 30,
      time: at,
      msg: "request",
      reqId: "req_1",
      method: "POST",
      url: "/v1/chat/completions",
      status: 200,
      ms: 1250,
      completed: true,
      model: "tiny",
      stream: true,
      promptTokens: 12,
      completionTokens: 50,
      cachedPromptTokens: 4,
      finishReason: "length",
    };
    assert.equal(
      formatEntry(entry),
      "13:04:05 POST /v1/chat/completions 200 1.25 s tiny: 12 (4 cached) prompt + 50 completion tokens, 40.0 tok/s",
    );
  });

  it("a request without a model, and one whose client went away", () => {
    assert.equal(
      formatEntry({
        level: 30,
        time: at,
        msg: "request",
        method: "GET",
        url: "/health",
        status: 503,
        ms: 0,
        completed: true,
      }),
      "13:04:05 GET /health 503 0 ms",
    );
    const gone = formatEntry({
      level: 30,
      time: at,
      msg: "request",
      method: "POST",
      url: "/v1/completions",
      status: 200,
      ms: 80,
      completed: false,
      model: "tiny",
      promptTokens: 3,
    });
    assert.equal(gone, "13:04:05 POST /v1/completions 200 80 ms tiny: 3 prompt tokens (client went away)");
  });

  it("a message on one line; an error's stack indented below it", () => {
    assert.equal(formatEntry({ level: 40, time: at, msg: "careful", pid: 1, hostname: "h" }), "13:04:05 WARN  careful");
    const text = formatEntry({
      level: 50,
      time: at,
      msg: "unhandled error",
      reqId: "req_2",
      err: { message: "boom", stack: "Error: boom\n    at f" },
    });
    assert.equal(text, "13:04:05 ERROR unhandled error req_2\n    Error: boom\n        at f");
  });

  it("colors only when asked", () => {
    assert.ok(formatEntry({ level: 30, time: at, msg: "hi" }, true).includes("\x1b[32mINFO"));
  });
});

describe("the progress line", () => {
  function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
    let written = "";
    const write = (s: string): boolean => {
      written += s;
      return true;
    };
    const stream = { isTTY: true, write } as unknown as NodeJS.WriteStream;
    return { stream, text: () => written };
  }

  it("log lines go above it: the line is cleared, the log written, the line drawn again", () => {
    const terminal = fakeTerminal();
    const line = new TerminalLine(terminal.stream);
    line.draw("tiny: load  40%");
    line.writeAbove(terminal.stream, "13:04:05 INFO  hello\n");
    assert.equal(terminal.text(), "\rtiny: load  40%\x1b[K\r\x1b[K13:04:05 INFO  hello\ntiny: load  40%");
    line.draw("tiny: load 100%", true);
    line.writeAbove(terminal.stream, "after\n");
    assert.ok(terminal.text().endsWith("\rtiny: load 100%\x1b[K\nafter\n"), "a finished line is left alone");
  });
});
