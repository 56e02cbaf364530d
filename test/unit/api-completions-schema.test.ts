import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { ApiError } from "../../src/api/errors.js";
import { completionMaxTokens, parseCompletionRequest } from "../../src/api/completions/schema.js";

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
    await client.completions.create({ model: "m", prompt: "hi", max_tokens: 3, stop: ["."], temperature: 0 }).catch(() => {});
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
    rejects({ model: "m", prompt: "x", messages: [] }, "messages", "unknown_parameter", "Unrecognized request argument supplied: messages");
    rejects(
      { model: "m", prompt: "x", stream_options: { include_usage: true } },
      "stream_options",
      "invalid_value",
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    );
  });

  it("refuses prompt forms and parameters it cannot honour yet", () => {
    for (const prompt of [["a", "b"], [1, 2, 3], [[1], [2]]]) {
      rejects({ model: "m", prompt }, "prompt", "unsupported_parameter", /single string/);
    }
    rejects({ model: "m", prompt: "x", echo: true }, "echo", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", logprobs: 0 }, "logprobs", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", suffix: "end" }, "suffix", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", best_of: 2 }, "best_of", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", n: 2 }, "n", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", logit_bias: { "1": 5 } }, "logit_bias", "unsupported_parameter");
    rejects({ model: "m", prompt: "x", presence_penalty: 0.5 }, "presence_penalty", "unsupported_parameter");
  });
});
