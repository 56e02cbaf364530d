// The request bounds that need no server: sizes for --max-body-size, the tool-turn rule of chat
// messages, the choice count of a request, and the byte bound on prompts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseChatCompletionRequest } from "../../../src/endpoints/chat-completions/schema.js";
import { MAX_CHOICES_PER_REQUEST, checkChoiceCount } from "../../../src/endpoints/shared/request-fields.js";
import { ApiError } from "../../../src/endpoints/shared/errors.js";
import { parseServeArgs, type ServeConfig } from "../../../src/cli/serve.js";
import { checkPromptBytes } from "../../../src/engine/llama/tokenizer-ops.js";
import { EngineError } from "../../../src/engine/errors.js";
import { CHAT_ERROR_NAMES } from "../../../src/endpoints/chat-completions/mapping.js";
import { toApiError } from "../../../src/endpoints/shared/engine-errors.js";
import { DEFAULT_BODY_LIMIT, bodyTooLarge, describeByteSize, parseByteSize } from "../../../src/server/body-limit.js";

describe("--max-body-size", () => {
  it("reads bytes and binary units, and nothing else", () => {
    assert.equal(parseByteSize("1048576"), 1_048_576);
    assert.equal(parseByteSize("512kb"), 512 * 1024);
    assert.equal(parseByteSize("10mb"), 10 * 1024 * 1024);
    assert.equal(parseByteSize("10MB"), 10 * 1024 * 1024);
    assert.equal(parseByteSize("1.5 MiB"), 1.5 * 1024 * 1024);
    assert.equal(parseByteSize("2g"), 2 * 1024 ** 3);
    for (const bad of ["", "0", "-1", "ten", "10 parsecs", "1e6", "mb"]) assert.equal(parseByteSize(bad), null, bad);
  });

  it("is a serve flag, default 8 MiB, refused when it is not a size", () => {
    const parse = (args: string[]): ServeConfig => parseServeArgs(args) as ServeConfig;
    assert.equal(parse([]).http.bodyLimit, DEFAULT_BODY_LIMIT);
    assert.equal(DEFAULT_BODY_LIMIT, 8 * 1024 * 1024);
    assert.equal(parse(["--max-body-size", "512kb"]).http.bodyLimit, 524_288);
    assert.equal(parse(["--max-body-size", "20000"]).http.bodyLimit, 20_000);
    assert.throws(() => parse(["--max-body-size", "lots"]), /--max-body-size must be a size in bytes, or with a unit/);
  });

  it("answers 413 in OpenAI's shape with the limit in the message", () => {
    const e = bodyTooLarge(512 * 1024, 600_000);
    assert.equal(e.status, 413);
    assert.equal(e.type, "invalid_request_error");
    assert.equal(e.code, "request_too_large");
    assert.match(
      e.message,
      /\(600000 bytes\) is larger than this server's limit of 512 KiB \(524288 bytes\).*--max-body-size/,
    );
    assert.doesNotMatch(bodyTooLarge(1000, Number.NaN).message, /NaN/);
    assert.equal(describeByteSize(1000), "1000 bytes");
    assert.equal(describeByteSize(1536 * 1024), "1.5 MiB (1572864 bytes)");
  });
});

describe("tool messages", () => {
  const call = (id: string) => ({ id, type: "function", function: { name: "f", arguments: "{}" } });
  const parse = (messages: unknown[]) => parseChatCompletionRequest({ model: "m", messages });
  const refuses = (messages: unknown[], param: string, message: RegExp) =>
    assert.throws(
      () => parse(messages),
      (e: unknown) => e instanceof ApiError && e.status === 400 && e.param === param && message.test(e.message),
    );

  it("take answers to the preceding assistant's calls, several in a row", () => {
    parse([
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [call("a"), call("b")] },
      { role: "tool", tool_call_id: "b", content: "2" },
      { role: "tool", tool_call_id: "a", content: "1" },
      { role: "assistant", content: "done" },
    ]);
  });

  it("are refused without a preceding call, as OpenAI refuses them, param at the message", () => {
    const noCall =
      /^Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'\.$/;
    refuses(
      [
        { role: "user", content: "hi" },
        { role: "tool", tool_call_id: "a", content: "1" },
      ],
      "messages[1].role",
      noCall,
    );
    refuses([{ role: "tool", tool_call_id: "a", content: "1" }], "messages[0].role", noCall);
    // An assistant turn without calls, or another message in between, answers nothing.
    refuses(
      [
        { role: "assistant", content: "x" },
        { role: "tool", tool_call_id: "a", content: "1" },
      ],
      "messages[1].role",
      noCall,
    );
    refuses(
      [
        { role: "assistant", content: null, tool_calls: [call("a")] },
        { role: "user", content: "and?" },
        { role: "tool", tool_call_id: "a", content: "1" },
      ],
      "messages[2].role",
      noCall,
    );
  });

  it("must name one of those calls", () => {
    refuses(
      [
        { role: "assistant", content: null, tool_calls: [call("a")] },
        { role: "tool", tool_call_id: "zzz", content: "1" },
      ],
      "messages[1].tool_call_id",
      /'tool_call_id' of 'zzz' not found in 'tool_calls' of previous message/,
    );
  });
});

describe("choices per request", () => {
  it("allow n's full range on one prompt, and prompts x n up to the limit", () => {
    checkChoiceCount(1, { n: 128 });
    checkChoiceCount(128, {});
    checkChoiceCount(8, { n: 2, best_of: 16 });
    assert.equal(MAX_CHOICES_PER_REQUEST, 128);
  });

  it("refuse more, naming the parameter and the limit", () => {
    const refused = (prompts: number, req: { n?: number; best_of?: number }, param: string) =>
      assert.throws(
        () => checkChoiceCount(prompts, req),
        (e: unknown) =>
          e instanceof ApiError && e.status === 400 && e.param === param && /at most 128 choices/.test(e.message),
      );
    refused(2000, { n: 64 }, "prompt");
    refused(129, {}, "prompt");
    refused(3, { n: 64 }, "n");
    refused(10, { n: 2, best_of: 20 }, "best_of");
    assert.throws(() => checkChoiceCount(2000, { n: 64 }), /2000 prompts/);
    assert.throws(() => checkChoiceCount(3, { n: 64 }), /192 choices \(3 prompts x n = 64\)/);
  });
});

describe("the byte bound on prompts", () => {
  const bound = { contextSize: 1024, longestTokenBytes: 256, field: "prompt.messages" as const };

  it("refuses text that cannot be fewer tokens than the context, before tokenizing", () => {
    checkPromptBytes(1023 * 256, bound); // could still be 1,023 tokens
    assert.throws(
      () => checkPromptBytes(1024 * 256, bound),
      (e: unknown) =>
        e instanceof EngineError &&
        e.kind === "context_length_exceeded" &&
        toApiError(e, "m", CHAT_ERROR_NAMES).param === "messages" &&
        /maximum context length is 1024 tokens.*\(262144 bytes of text\) cannot be fewer than 1024 tokens/.test(
          toApiError(e, "m", CHAT_ERROR_NAMES).message,
        ),
    );
  });

  it("does nothing for tokenizers that normalize text away (no bound)", () => {
    checkPromptBytes(1e9, { ...bound, longestTokenBytes: null });
  });
});
