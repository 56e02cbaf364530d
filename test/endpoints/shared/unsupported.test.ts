import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHAT_UNSUPPORTED, parseChatCompletionRequest } from "../../../src/endpoints/chat-completions/schema.js";
import { ApiError } from "../../../src/endpoints/shared/errors.js";
import {
  never,
  onlyValues,
  rejectUnsupported,
  when,
  type UnsupportedRule,
} from "../../../src/endpoints/shared/unsupported.js";

const base = { model: "m", messages: [{ role: "user", content: "hi" }] };
const tool = { type: "function", function: { name: "get_weather", parameters: { type: "object" } } };

function unsupported(extra: Record<string, unknown>, param: string): void {
  assert.throws(
    () => parseChatCompletionRequest({ ...base, ...extra }),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.type, "invalid_request_error");
      assert.equal(e.code, "unsupported_parameter");
      assert.equal(e.param, param);
      assert.match(e.message, new RegExp(`^lavash does not support '${param}' yet`));
      return true;
    },
    JSON.stringify(extra),
  );
}

describe("unsupported parameters (chat)", () => {
  it("rejects values that would change the result", () => {
    unsupported({ tools: [{ type: "custom", custom: { name: "c" } }] }, "tools");
    unsupported(
      { tools: [tool], tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [] } } },
      "tool_choice",
    );
    unsupported({ modalities: ["text", "audio"] }, "modalities");
    unsupported({ audio: { voice: "alloy", format: "wav" } }, "audio");
    unsupported({ prediction: { type: "content", content: "x" } }, "prediction");
    unsupported({ reasoning_effort: "low" }, "reasoning_effort");
    unsupported({ service_tier: "flex" }, "service_tier");
    unsupported({ store: true }, "store");
    unsupported({ web_search_options: {} }, "web_search_options");
    unsupported({ verbosity: "high" }, "verbosity");
  });

  it("rejects custom tool calls in the history, takes tool turns", () => {
    const call = { id: "call_1", type: "function", function: { name: "f", arguments: "{}" } };
    parseChatCompletionRequest({
      model: "m",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: "call_1", content: "42" },
      ],
    });
    for (const messages of [
      [
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c", type: "custom", custom: { name: "c", input: "x" } }],
        },
      ],
    ]) {
      assert.throws(() => parseChatCompletionRequest({ model: "m", messages }), {
        param: "messages",
        code: "unsupported_parameter",
        message: /custom tool calls/,
      });
    }
    parseChatCompletionRequest({
      model: "m",
      messages: [
        { role: "system", content: "s" },
        { role: "assistant", content: "a", tool_calls: [] },
        { role: "user", content: "u" },
      ],
    });
  });

  it("no longer lists the sampling and scoring parameters lavash honours", () => {
    const names = new Set(CHAT_UNSUPPORTED.map((r) => r.name));
    for (const name of [
      "n",
      "logprobs",
      "top_logprobs",
      "presence_penalty",
      "frequency_penalty",
      "logit_bias",
      "best_of",
    ]) {
      assert.equal(names.has(name), false, name);
    }
    parseChatCompletionRequest({
      ...base,
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      presence_penalty: 0.5,
      frequency_penalty: -1,
      logit_bias: { "42": 10 },
      best_of: 3,
      top_k: 20,
      min_p: 0.1,
      repetition_penalty: 1.1,
    });
  });

  it("accepts absent, null and default values", () => {
    parseChatCompletionRequest({
      ...base,
      n: 1,
      logprobs: false,
      top_logprobs: 0,
      presence_penalty: 0,
      frequency_penalty: 0,
      logit_bias: {},
      response_format: { type: "text" },
      tools: [],
      tool_choice: "auto",
      parallel_tool_calls: false,
      function_call: "none",
      modalities: ["text"],
      service_tier: "default",
      store: false,
      metadata: { team: "a" },
      verbosity: "medium",
    });
    parseChatCompletionRequest({
      ...base,
      n: null,
      logprobs: null,
      tools: null,
      tool_choice: null,
      audio: null,
      prediction: null,
      reasoning_effort: null,
      web_search_options: null,
    });
  });

  it("the table can be replaced (features landing shrink it)", () => {
    const withoutStore = CHAT_UNSUPPORTED.filter((r) => r.name !== "store");
    assert.equal(parseChatCompletionRequest({ ...base, store: true }, { unsupported: withoutStore }).store, true);
    assert.equal(parseChatCompletionRequest({ ...base, tools: [tool] }, { unsupported: [] }).tools?.length, 1);
  });
});

describe("rejectUnsupported", () => {
  const rules: UnsupportedRule[] = [
    onlyValues("a", [0]),
    never("b", "use c instead"),
    when("c", (v, body) => v === true || body.d === "ok"),
    { name: "e", isNoop: () => false, message: "custom words." },
  ];

  it("skips absent and null values without calling isNoop", () => {
    rejectUnsupported({ a: null, b: undefined }, [...rules, { name: "x", isNoop: () => assert.fail("called") }]);
  });

  it("names the parameter, with the hint or the custom message", () => {
    assert.throws(() => rejectUnsupported({ a: 1 }, rules), {
      param: "a",
      message: "lavash does not support 'a' yet.",
    });
    assert.throws(() => rejectUnsupported({ b: false }, rules), {
      param: "b",
      message: "lavash does not support 'b' yet: use c instead.",
    });
    assert.throws(() => rejectUnsupported({ e: 1 }, rules), {
      param: "e",
      message: "custom words.",
      code: "unsupported_parameter",
    });
  });

  it("lets rules look at the rest of the body", () => {
    rejectUnsupported({ c: false, d: "ok" }, rules);
    assert.throws(() => rejectUnsupported({ c: false }, rules), { param: "c" });
  });
});
