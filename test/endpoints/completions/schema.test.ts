import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { ApiError } from "../../../src/endpoints/shared/errors.js";
import { samplingExtensions } from "../../../src/endpoints/shared/sampling-mapping.js";
import { COMPLETIONS_UNSUPPORTED, parseCompletionRequest } from "../../../src/endpoints/completions/schema.js";
import {
  completionTopLogprobs,
  completionMaxTokens,
  promptInputs,
} from "../../../src/endpoints/completions/mapping.js";

function rejects(body: unknown, param: string | null, code: string, message?: string | RegExp): void {
  assert.throws(
    () => parseCompletionRequest(body),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.param, param, e.message);
      assert.equal(e.code, code, e.message);
      if (typeof message === "string") assert.equal(e.message, message);
      else if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe("completions request schema", () => {
  it("accepts a string prompt with every supported parameter", () => {
    const req = parseCompletionRequest({
      model: "m",
      prompt: "Once upon",
      max_tokens: 0,
      temperature: 0,
      top_p: 1,
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
      stop: "\n",
      seed: 1,
      user: "u",
      echo: false,
      best_of: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      logit_bias: {},
      logprobs: null,
      suffix: null,
    });
    assert.equal(req.prompt, "Once upon");
    assert.equal(completionMaxTokens(req), 0);
  });

  it("defaults max_tokens to 16 and a null prompt to the empty prompt", () => {
    const req = parseCompletionRequest({ model: "m", prompt: null, max_tokens: null });
    assert.equal(req.prompt, "");
    assert.equal(completionMaxTokens(req), 16);
    assert.equal(completionMaxTokens(parseCompletionRequest({ model: "m", prompt: "x" })), 16);
  });

  it("accepts what the openai SDK sends", async () => {
    const bodies: unknown[] = [];
    const client = new OpenAI({
      apiKey: "sk-test",
      baseURL: "http://lavash.invalid/v1",
      maxRetries: 0,
      fetch: async (_url, init) => {
        bodies.push(JSON.parse(String(init?.body)));
        return new Response("{}", { status: 500, headers: { "content-type": "application/json" } });
      },
    });
    await client.completions
      .create({ model: "m", prompt: "hi", max_tokens: 3, stop: ["."], temperature: 0 })
      .catch(() => {});
    await client.completions
      .create({ model: "m", prompt: "hi", stream: true, stream_options: { include_usage: true } })
      .catch(() => {});
    assert.equal(bodies.length, 2);
    for (const body of bodies) parseCompletionRequest(body);
  });

  it("requires model and prompt", () => {
    rejects({ model: "m" }, "prompt", "missing_required_parameter", "Missing required parameter: 'prompt'.");
    rejects({ prompt: "x" }, "model", "missing_required_parameter");
  });

  it("validates ranges", () => {
    rejects({ model: "m", prompt: "x", max_tokens: -1 }, "max_tokens", "integer_below_min_value");
    rejects({ model: "m", prompt: "x", logprobs: 6 }, "logprobs", "integer_above_max_value");
    rejects({ model: "m", prompt: "x", best_of: 21 }, "best_of", "integer_above_max_value");
    rejects({ model: "m", prompt: "x", temperature: 3 }, "temperature", "decimal_above_max_value");
    rejects({ model: "m", prompt: "x", n: 2, best_of: 1 }, "best_of", "invalid_value");
    rejects({ model: "m", prompt: [] }, "prompt", "empty_array");
    rejects({ model: "m", prompt: [[]] }, "prompt[0]", "empty_array");
    rejects({ model: "m", prompt: 5 }, "prompt", "invalid_type");
  });

  it("rejects unknown parameters and stream_options without stream", () => {
    rejects(
      { model: "m", prompt: "x", messages: [] },
      "messages",
      "unknown_parameter",
      "Unrecognized request argument supplied: messages",
    );
    rejects(
      { model: "m", prompt: "x", stream_options: { include_usage: true } },
      "stream_options",
      "invalid_value",
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    );
  });

  it("accepts every parameter lavash used to refuse", () => {
    assert.deepEqual(COMPLETIONS_UNSUPPORTED, []);
    const req = parseCompletionRequest({
      model: "m",
      prompt: "x",
      n: 3,
      best_of: 5,
      echo: true,
      logprobs: 5,
      suffix: "end",
      presence_penalty: -2,
      frequency_penalty: 2,
      logit_bias: { "1": 5, "151643": -100 },
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.3,
    });
    assert.equal(req.suffix, "end");
    assert.equal(req.echo, true);
    assert.deepEqual(samplingExtensions(req), {
      topK: 40,
      minP: 0.05,
      repetitionPenalty: 1.3,
      presencePenalty: -2,
      frequencyPenalty: 2,
      logitBias: [
        [1, 5],
        [151643, -100],
      ],
    });
  });

  it("logprobs: 0..5, null is off and 0 is the sampled token only", () => {
    assert.equal(completionTopLogprobs(parseCompletionRequest({ model: "m", prompt: "x" })), null);
    assert.equal(completionTopLogprobs(parseCompletionRequest({ model: "m", prompt: "x", logprobs: null })), null);
    assert.equal(completionTopLogprobs(parseCompletionRequest({ model: "m", prompt: "x", logprobs: 0 })), 0);
    assert.equal(completionTopLogprobs(parseCompletionRequest({ model: "m", prompt: "x", logprobs: 5 })), 5);
    rejects({ model: "m", prompt: "x", logprobs: -1 }, "logprobs", "integer_below_min_value");
    rejects(
      { model: "m", prompt: "x", logprobs: true },
      "logprobs",
      "invalid_type",
      /expected an integer, but got a boolean/,
    );
  });

  it("ranges of penalties, logit_bias and the vLLM extensions", () => {
    rejects({ model: "m", prompt: "x", n: 129 }, "n", "integer_above_max_value");
    rejects({ model: "m", prompt: "x", presence_penalty: -2.01 }, "presence_penalty", "decimal_below_min_value");
    rejects({ model: "m", prompt: "x", frequency_penalty: 2.01 }, "frequency_penalty", "decimal_above_max_value");
    rejects({ model: "m", prompt: "x", logit_bias: { "5": -100.1 } }, "logit_bias.5", "decimal_below_min_value");
    rejects(
      { model: "m", prompt: "x", logit_bias: { "1.5": 1 } },
      "logit_bias",
      "invalid_value",
      /Invalid key in 'logit_bias': '1.5'/,
    );
    rejects({ model: "m", prompt: "x", top_k: -2 }, "top_k", "integer_below_min_value");
    rejects({ model: "m", prompt: "x", min_p: 2 }, "min_p", "decimal_above_max_value");
    rejects({ model: "m", prompt: "x", repetition_penalty: -1 }, "repetition_penalty", "decimal_below_min_value");
    rejects({ model: "m", prompt: "x", echo: "yes" }, "echo", "invalid_type");
    rejects({ model: "m", prompt: "x", suffix: 1 }, "suffix", "invalid_type");
  });

  it("best_of: 0..20, at least n, and no streaming when it exceeds n", () => {
    rejects(
      { model: "m", prompt: "x", n: 3, best_of: 2 },
      "best_of",
      "invalid_value",
      "Invalid value for 'best_of': 'best_of' must be greater than or equal to 'n'.",
    );
    rejects(
      { model: "m", prompt: "x", best_of: 2, stream: true },
      "best_of",
      "invalid_value",
      /'stream' is not supported/,
    );
    rejects({ model: "m", prompt: "x", n: 2, best_of: 4, stream: true }, "best_of", "invalid_value");
    rejects({ model: "m", prompt: "x", best_of: -1 }, "best_of", "integer_below_min_value");
    parseCompletionRequest({ model: "m", prompt: "x", n: 2, best_of: 2, stream: true });
    parseCompletionRequest({ model: "m", prompt: "x", best_of: 20 });
    // 0 is in the spec's range and read as "not given": no conflict with n or stream.
    parseCompletionRequest({ model: "m", prompt: "x", n: 4, best_of: 0, stream: true });
  });

  it("prompt forms: string, strings, token ids, lists of token ids", () => {
    const inputs = (prompt: unknown): unknown => promptInputs(parseCompletionRequest({ model: "m", prompt }).prompt);
    assert.deepEqual(inputs("once"), [{ kind: "text", text: "once" }]);
    assert.deepEqual(inputs(""), [{ kind: "text", text: "" }]);
    assert.deepEqual(inputs(null), [{ kind: "text", text: "" }]);
    assert.deepEqual(inputs(["a", "", "b"]), [
      { kind: "text", text: "a" },
      { kind: "text", text: "" },
      { kind: "text", text: "b" },
    ]);
    assert.deepEqual(inputs([0, 151645, 7]), [{ kind: "tokens", tokens: [0, 151645, 7] }]);
    assert.deepEqual(inputs([[1, 2], [3]]), [
      { kind: "tokens", tokens: [1, 2] },
      { kind: "tokens", tokens: [3] },
    ]);
  });

  it("invalid prompt forms name the offending element", () => {
    rejects(
      { model: "m", prompt: [] },
      "prompt",
      "empty_array",
      "Invalid 'prompt': empty array. Expected an array with minimum length 1, but got an empty array instead.",
    );
    rejects({ model: "m", prompt: [[]] }, "prompt[0]", "empty_array");
    rejects({ model: "m", prompt: [[1], []] }, "prompt[1]", "empty_array");
    rejects(
      { model: "m", prompt: [-1] },
      "prompt[0]",
      "integer_below_min_value",
      "Invalid 'prompt[0]': integer below minimum value. Expected a value >= 0, but got -1 instead.",
    );
    rejects({ model: "m", prompt: [[1], [2, -3]] }, "prompt[1][1]", "integer_below_min_value");
    rejects(
      { model: "m", prompt: [1.5] },
      "prompt[0]",
      "invalid_type",
      "Invalid type for 'prompt[0]': expected an integer, but got a decimal instead.",
    );
    rejects({ model: "m", prompt: ["a", 1] }, "prompt[1]", "invalid_type", /expected a string, but got an integer/);
    rejects({ model: "m", prompt: [1, "a"] }, "prompt[1]", "invalid_type", /expected an integer, but got a string/);
    rejects({ model: "m", prompt: [[1], 2] }, "prompt[1]", "invalid_type", /expected an array, but got an integer/);
    rejects({ model: "m", prompt: [true] }, "prompt[0]", "invalid_type");
    rejects(
      { model: "m", prompt: { text: "x" } },
      "prompt",
      "invalid_type",
      /expected one of a string or an array, but got an object/,
    );
  });

  it("accepts what the openai SDK sends for the legacy prompt forms and scoring options", async () => {
    const bodies: unknown[] = [];
    const client = new OpenAI({
      apiKey: "sk-test",
      baseURL: "http://lavash.invalid/v1",
      maxRetries: 0,
      fetch: async (_url, init) => {
        bodies.push(JSON.parse(String(init?.body)));
        return new Response("{}", { status: 500, headers: { "content-type": "application/json" } });
      },
    });
    for (const prompt of ["x", ["a", "b"], [1, 2], [[1], [2]]]) {
      await client.completions
        .create({ model: "m", prompt, n: 2, best_of: 3, logprobs: 2, echo: true, max_tokens: 0 })
        .catch(() => {});
    }
    assert.equal(bodies.length, 4);
    for (const body of bodies) parseCompletionRequest(body);
  });
});
