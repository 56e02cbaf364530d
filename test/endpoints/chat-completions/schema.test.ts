import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { ApiError } from "../../../src/endpoints/shared/errors.js";
import {
  parseChatCompletionRequest,
  type ChatCompletionRequest,
} from "../../../src/endpoints/chat-completions/schema.js";
import {
  CHAT_ERROR_NAMES,
  chatGeneration,
  chatMaxTokens,
  chatTopLogprobs,
  engineMessage,
  FUNCTIONS_ERROR_NAMES,
  flattenContent,
  functionCallId,
  toolCalling,
} from "../../../src/endpoints/chat-completions/mapping.js";
import {
  EXTENSION_PARAMETERS,
  bestOfCount,
  normalizeStop,
  wantsStreamUsage,
} from "../../../src/endpoints/shared/request-fields.js";
import { samplingExtensions } from "../../../src/endpoints/shared/sampling-mapping.js";

const base = { model: "m", messages: [{ role: "user", content: "hi" }] };

function rejects(
  body: unknown,
  expected: { param: string | null; code: string | null; message?: string | RegExp },
): ApiError {
  try {
    parseChatCompletionRequest(body);
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.type, "invalid_request_error");
    assert.equal(e.param, expected.param, e.message);
    assert.equal(e.code, expected.code, e.message);
    if (typeof expected.message === "string") assert.equal(e.message, expected.message);
    else if (expected.message) assert.match(e.message, expected.message);
    return e;
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

/** The JSON bodies the openai SDK puts on the wire for the given calls. */
async function bodiesSentBySdk(calls: (client: OpenAI) => Promise<unknown>): Promise<unknown[]> {
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
  await calls(client).catch(() => {});
  return bodies;
}

describe("chat request schema: accepted", () => {
  it("accepts a minimal request and keeps the fields", () => {
    const req = parseChatCompletionRequest(base);
    assert.equal(req.model, "m");
    assert.deepEqual(req.messages, [{ role: "user", content: "hi" }]);
  });

  it("accepts every role and content form, and strips unknown fields inside messages", () => {
    const req = parseChatCompletionRequest(
      {
        model: "m",
        messages: [
          { role: "developer", content: "d" },
          { role: "system", content: [{ type: "text", text: "s" }], name: "sys" },
          {
            role: "user",
            content: [
              { type: "text", text: "a" },
              { type: "text", text: "b" },
            ],
          },
          {
            role: "assistant",
            content: null,
            refusal: null,
            parsed: { x: 1 },
            annotations: [],
            tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "call_1", content: "42" },
          { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
          { role: "function", name: "f", content: null },
          {
            role: "assistant",
            content: [
              { type: "text", text: "x" },
              { type: "refusal", refusal: "no" },
            ],
          },
        ],
      },
      { unsupported: [] },
    );
    assert.equal(req.messages.length, 8);
    assert.equal("parsed" in req.messages[3]!, false);
    assert.equal("annotations" in req.messages[3]!, false);
  });

  it("accepts explicit nulls and in-range values for every sampling parameter", () => {
    const nulls = parseChatCompletionRequest({
      ...base,
      temperature: null,
      top_p: null,
      n: null,
      stream: null,
      stream_options: null,
      stop: null,
      max_tokens: null,
      max_completion_tokens: null,
      seed: null,
      presence_penalty: null,
      frequency_penalty: null,
      logit_bias: null,
      logprobs: null,
      top_logprobs: null,
      user: null,
      best_of: null,
      top_k: null,
      min_p: null,
      repetition_penalty: null,
    });
    assert.equal(nulls.temperature, null);
    const edges = parseChatCompletionRequest({
      ...base,
      temperature: 2,
      top_p: 0,
      n: 1,
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false },
      stop: ["a", "b", "c", "d"],
      max_completion_tokens: 1,
      seed: -5,
      presence_penalty: 0,
      frequency_penalty: 0,
      logit_bias: {},
      logprobs: false,
      top_logprobs: 0,
      user: "u",
      metadata: { k: "v" },
      store: false,
      service_tier: "auto",
      response_format: { type: "text" },
      modalities: ["text"],
      parallel_tool_calls: true,
      tool_choice: "none",
      prompt_cache_key: "k",
      safety_identifier: "s",
      verbosity: "medium",
    });
    assert.equal(edges.temperature, 2);
    assert.equal(wantsStreamUsage(edges), true);
  });

  it("accepts what the openai SDK sends, including .stream() and .parse() bodies without tools", async () => {
    const bodies = await bodiesSentBySdk(async (client) => {
      await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] }).catch(() => {});
      await client.chat.completions
        .create({
          model: "m",
          messages: [
            { role: "system", content: "be brief" },
            { role: "user", content: [{ type: "text", text: "hi" }] },
          ],
          temperature: 0.2,
          top_p: 0.9,
          max_completion_tokens: 20,
          stop: ["\n"],
          seed: 7,
          stream: true,
          stream_options: { include_usage: true },
          user: "me",
        })
        .catch(() => {});
      await client.chat.completions
        .stream({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
        .finalChatCompletion()
        .catch(() => {});
    });
    assert.equal(bodies.length, 3);
    for (const body of bodies) parseChatCompletionRequest(body);
    assert.equal((bodies[2] as { stream?: boolean }).stream, true);
  });

  it("helpers: max tokens preference, stop normalisation, content flattening", () => {
    assert.equal(chatMaxTokens({ max_tokens: 10, max_completion_tokens: 20 }), 20);
    assert.equal(chatMaxTokens({ max_tokens: 10 }), 10);
    assert.equal(chatMaxTokens({}), null);
    assert.deepEqual(normalizeStop("x"), ["x"]);
    assert.deepEqual(normalizeStop(["a", "", "b"]), ["a", "b"]);
    assert.deepEqual(normalizeStop(null), []);
    assert.equal(flattenContent("plain"), "plain");
    assert.equal(flattenContent(null), "");
    assert.equal(
      flattenContent([
        { type: "text", text: "a" },
        { type: "text", text: "b" },
      ]),
      "a\nb",
    );
    const req: ChatCompletionRequest = parseChatCompletionRequest({
      model: "m",
      messages: [{ role: "user", content: [{ type: "text", text: "one" }] }],
    });
    const content = req.messages[0]!.content;
    assert.ok(Array.isArray(content));
    assert.equal(flattenContent(content), "one");
    assert.equal(
      flattenContent([
        { type: "text", text: "yes" },
        { type: "refusal", refusal: "but no" },
      ]),
      "yes\nbut no",
    );
  });
});

describe("chat request schema: rejected with OpenAI's errors", () => {
  it("range errors name the parameter and use OpenAI's wording", () => {
    rejects(
      { ...base, temperature: 200 },
      {
        param: "temperature",
        code: "decimal_above_max_value",
        message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 200 instead.",
      },
    );
    rejects(
      { ...base, temperature: -0.5 },
      {
        param: "temperature",
        code: "decimal_below_min_value",
        message: "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -0.5 instead.",
      },
    );
    rejects({ ...base, top_p: 1.5 }, { param: "top_p", code: "decimal_above_max_value" });
    rejects(
      { ...base, n: 129 },
      {
        param: "n",
        code: "integer_above_max_value",
        message: "Invalid 'n': integer above maximum value. Expected a value <= 128, but got 129 instead.",
      },
    );
    rejects({ ...base, n: 0 }, { param: "n", code: "integer_below_min_value" });
    rejects({ ...base, presence_penalty: 2.5 }, { param: "presence_penalty", code: "decimal_above_max_value" });
    rejects({ ...base, frequency_penalty: -3 }, { param: "frequency_penalty", code: "decimal_below_min_value" });
    rejects({ ...base, top_logprobs: 21, logprobs: true }, { param: "top_logprobs", code: "integer_above_max_value" });
    rejects({ ...base, max_tokens: 0 }, { param: "max_tokens", code: "integer_below_min_value" });
    rejects({ ...base, max_completion_tokens: 0 }, { param: "max_completion_tokens", code: "integer_below_min_value" });
    rejects({ ...base, logit_bias: { "50256": -101 } }, { param: "logit_bias.50256", code: "decimal_below_min_value" });
    rejects({ ...base, logit_bias: { abc: 1 } }, { param: "logit_bias", code: "invalid_value", message: /'abc'/ });
    rejects({ ...base, seed: 2 ** 60 }, { param: "seed", code: "integer_above_max_value" });
  });

  it("type errors say what was expected and what came", () => {
    rejects(
      { ...base, n: "2" },
      {
        param: "n",
        code: "invalid_type",
        message: "Invalid type for 'n': expected an integer, but got a string instead.",
      },
    );
    rejects(
      { ...base, n: 1.5 },
      {
        param: "n",
        code: "invalid_type",
        message: "Invalid type for 'n': expected an integer, but got a decimal instead.",
      },
    );
    rejects(
      { ...base, temperature: "hot" },
      { param: "temperature", code: "invalid_type", message: /expected a decimal, but got a string/ },
    );
    rejects({ ...base, stream: "yes" }, { param: "stream", code: "invalid_type", message: /expected a boolean/ });
    rejects(
      { ...base, model: null },
      { param: "model", code: "invalid_type", message: /expected a string, but got null/ },
    );
    rejects({ ...base, messages: "hi" }, { param: "messages", code: "invalid_type", message: /expected an array/ });
    rejects(
      { ...base, stop: 5 },
      { param: "stop", code: "invalid_type", message: /expected one of a string or an array/ },
    );
    rejects({ ...base, stop: [1] }, { param: "stop[0]", code: "invalid_type" });
    rejects([], { param: null, code: "invalid_type", message: /must be a JSON object/ });
  });

  it("missing required parameters", () => {
    rejects(
      { model: "m" },
      { param: "messages", code: "missing_required_parameter", message: "Missing required parameter: 'messages'." },
    );
    rejects({ messages: base.messages }, { param: "model", code: "missing_required_parameter" });
    rejects(
      { ...base, messages: [{ content: "x" }] },
      { param: "messages[0].role", code: "missing_required_parameter" },
    );
    rejects(
      { ...base, messages: [{ role: "user" }] },
      { param: "messages[0].content", code: "missing_required_parameter" },
    );
    rejects(
      { ...base, messages: [{ role: "assistant" }] },
      { param: "messages[0].content", code: "missing_required_parameter" },
    );
    rejects(
      { ...base, messages: [{ role: "tool", content: "x" }] },
      { param: "messages[0].tool_call_id", code: "missing_required_parameter" },
    );
  });

  it("array lengths", () => {
    rejects(
      { ...base, messages: [] },
      {
        param: "messages",
        code: "empty_array",
        message:
          "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      },
    );
    rejects(
      { ...base, stop: ["a", "b", "c", "d", "e"] },
      {
        param: "stop",
        code: "array_above_max_length",
        message:
          "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.",
      },
    );
  });

  it("invalid enum values list the supported ones", () => {
    rejects(
      { ...base, messages: [{ role: "wizard", content: "x" }] },
      {
        param: "messages[0].role",
        code: "invalid_value",
        message:
          "Invalid value: 'wizard'. Supported values are: 'developer', 'system', 'user', 'assistant', 'tool', and 'function'.",
      },
    );
    rejects(
      { ...base, tool_choice: "sometimes" },
      { param: "tool_choice", code: "invalid_value", message: /'none', 'auto', and 'required'/ },
    );
    rejects({ ...base, response_format: { type: "xml" } }, { param: "response_format.type", code: "invalid_value" });
    rejects(
      { ...base, response_format: { type: "json_schema", json_schema: { name: "has space" } } },
      { param: "response_format.json_schema.name", code: "invalid_value", message: /does not match pattern/ },
    );
  });

  it("unknown top-level parameters", () => {
    rejects(
      { ...base, foo: 1 },
      { param: "foo", code: "unknown_parameter", message: "Unrecognized request argument supplied: foo" },
    );
    rejects(
      { ...base, foo: 1, bar: 2 },
      { param: "foo", code: "unknown_parameter", message: "Unrecognized request arguments supplied: foo, bar" },
    );
    // Legacy-completions parameters that chat has no extension for.
    rejects({ ...base, suffix: "x" }, { param: "suffix", code: "unknown_parameter" });
    rejects({ ...base, echo: true }, { param: "echo", code: "unknown_parameter" });
  });

  it("stream_options requires stream: true", () => {
    const message = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";
    rejects(
      { ...base, stream_options: { include_usage: true } },
      { param: "stream_options", code: "invalid_value", message },
    );
    rejects(
      { ...base, stream: false, stream_options: { include_usage: true } },
      { param: "stream_options", code: "invalid_value", message },
    );
    parseChatCompletionRequest({ ...base, stream: false, stream_options: null });
  });

  it("non-text content parts are refused with the reason", () => {
    for (const part of [
      { type: "image_url", image_url: { url: "https://x/y.png" } },
      { type: "input_audio", input_audio: { data: "", format: "wav" } },
      { type: "file", file: { file_id: "f" } },
    ]) {
      rejects(
        { ...base, messages: [{ role: "user", content: [{ type: "text", text: "look" }, part] }] },
        {
          param: "messages[0].content[1].type",
          code: "unsupported_content_part",
          message: `lavash serves text models: content part type '${part.type}' is not supported`,
        },
      );
    }
    rejects(
      { ...base, messages: [{ role: "user", content: [{ type: "video" }] }] },
      { param: "messages[0].content[0].type", code: "invalid_value" },
    );
  });

  it("top_logprobs needs logprobs: true", () => {
    rejects(
      { ...base, top_logprobs: 3 },
      { param: "top_logprobs", code: "invalid_value", message: /'logprobs' must be set to true/ },
    );
    rejects({ ...base, top_logprobs: 3, logprobs: false }, { param: "top_logprobs", code: "invalid_value" });
    // 0 asks for no alternatives, so it is harmless without logprobs.
    parseChatCompletionRequest({ ...base, top_logprobs: 0 });
    assert.equal(parseChatCompletionRequest({ ...base, top_logprobs: 3, logprobs: true }).top_logprobs, 3);
  });
});

describe("chat request schema: sampling and scoring surface", () => {
  it("accepts n, penalties, logit_bias, logprobs and the vLLM extensions at their edges", () => {
    const low = parseChatCompletionRequest({
      ...base,
      n: 128,
      presence_penalty: -2,
      frequency_penalty: 2,
      logit_bias: { "0": -100, "151645": 100, "42": 0.5 },
      logprobs: true,
      top_logprobs: 20,
      top_k: -1,
      min_p: 0,
      repetition_penalty: 0.01,
    });
    assert.equal(low.n, 128);
    assert.equal(low.top_logprobs, 20);
    const high = parseChatCompletionRequest({
      ...base,
      n: 2,
      best_of: 20,
      top_k: 50,
      min_p: 1,
      repetition_penalty: 5,
      logprobs: true,
    });
    assert.equal(high.best_of, 20);
    parseChatCompletionRequest({ ...base, top_k: 0 });
    parseChatCompletionRequest({ ...base, top_k: 1 });
  });

  it("range errors for the new parameters", () => {
    rejects({ ...base, top_logprobs: -1, logprobs: true }, { param: "top_logprobs", code: "integer_below_min_value" });
    rejects(
      { ...base, logprobs: 1 },
      { param: "logprobs", code: "invalid_type", message: /expected a boolean, but got an integer/ },
    );
    rejects({ ...base, logit_bias: { "1": 100.5 } }, { param: "logit_bias.1", code: "decimal_above_max_value" });
    rejects(
      { ...base, logit_bias: { "-1": 1 } },
      { param: "logit_bias", code: "invalid_value", message: /Invalid key in 'logit_bias': '-1'/ },
    );
    rejects({ ...base, logit_bias: { "1": "x" } }, { param: "logit_bias.1", code: "invalid_type" });
    rejects(
      { ...base, top_k: -2 },
      {
        param: "top_k",
        code: "integer_below_min_value",
        message: "Invalid 'top_k': integer below minimum value. Expected a value >= -1, but got -2 instead.",
      },
    );
    rejects({ ...base, top_k: 2.5 }, { param: "top_k", code: "invalid_type", message: /expected an integer/ });
    rejects({ ...base, min_p: 1.5 }, { param: "min_p", code: "decimal_above_max_value" });
    rejects({ ...base, min_p: -0.1 }, { param: "min_p", code: "decimal_below_min_value" });
    rejects(
      { ...base, repetition_penalty: 0 },
      {
        param: "repetition_penalty",
        code: "decimal_below_min_value",
        message: "Invalid 'repetition_penalty': decimal below minimum value. Expected a value > 0, but got 0 instead.",
      },
    );
    rejects({ ...base, best_of: 0 }, { param: "best_of", code: "integer_below_min_value" });
    rejects({ ...base, best_of: 21 }, { param: "best_of", code: "integer_above_max_value" });
  });

  it("best_of must cover n, and best_of > n cannot stream", () => {
    rejects(
      { ...base, n: 3, best_of: 2 },
      {
        param: "best_of",
        code: "invalid_value",
        message: "Invalid value for 'best_of': 'best_of' must be greater than or equal to 'n'.",
      },
    );
    rejects(
      { ...base, best_of: 2, stream: true },
      {
        param: "best_of",
        code: "invalid_value",
        message: /'stream' is not supported when 'best_of' is greater than 'n'/,
      },
    );
    rejects({ ...base, n: 2, best_of: 3, stream: true }, { param: "best_of", code: "invalid_value" });
    // Equal counts rank nothing away, so the candidates can stream as they are generated.
    parseChatCompletionRequest({ ...base, n: 2, best_of: 2, stream: true });
    parseChatCompletionRequest({ ...base, n: 4, stream: true });
    parseChatCompletionRequest({ ...base, best_of: 3, stream: false });
    assert.equal(bestOfCount({ n: 2 }), 2);
    assert.equal(bestOfCount({ n: 2, best_of: 5 }), 5);
    assert.equal(bestOfCount({}), 1);
  });

  it("accepts what the openai SDK sends for logprobs, n and penalties", async () => {
    const bodies = await bodiesSentBySdk(async (client) => {
      await client.chat.completions
        .create({
          model: "m",
          messages: [{ role: "user", content: "hi" }],
          n: 3,
          logprobs: true,
          top_logprobs: 5,
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
          logit_bias: { "50256": -100 },
        })
        .catch(() => {});
      // The SDK's types do not know the extensions, but it sends whatever the body holds.
      const extensions = { top_k: 40, min_p: 0.05, repetition_penalty: 1.1, best_of: 2 };
      await client.chat.completions
        .create({ model: "m", messages: [{ role: "user", content: "hi" }], ...extensions } as Parameters<
          typeof client.chat.completions.create
        >[0])
        .catch(() => {});
    });
    assert.equal(bodies.length, 2);
    for (const body of bodies) parseChatCompletionRequest(body);
  });

  it("helpers: logprobs count and normalised sampling extensions", () => {
    assert.equal(chatTopLogprobs({}), null);
    assert.equal(chatTopLogprobs({ logprobs: false, top_logprobs: 0 }), null);
    assert.equal(chatTopLogprobs({ logprobs: true }), 0);
    assert.equal(chatTopLogprobs({ logprobs: true, top_logprobs: null }), 0);
    assert.equal(chatTopLogprobs({ logprobs: true, top_logprobs: 7 }), 7);

    assert.deepEqual(samplingExtensions({}), { presencePenalty: 0, frequencyPenalty: 0, logitBias: [] });
    assert.deepEqual(
      samplingExtensions(
        parseChatCompletionRequest({
          ...base,
          top_k: 40,
          min_p: 0.1,
          repetition_penalty: 1.2,
          presence_penalty: 0.5,
          frequency_penalty: -1,
          logit_bias: { "7": -100, "151645": 5 },
        }),
      ),
      {
        topK: 40,
        minP: 0.1,
        repetitionPenalty: 1.2,
        presencePenalty: 0.5,
        frequencyPenalty: -1,
        logitBias: [
          [7, -100],
          [151645, 5],
        ],
      },
    );
    // The values that mean "off" come out absent.
    for (const off of [
      { top_k: -1 },
      { top_k: 0 },
      { min_p: 0 },
      { repetition_penalty: 1 },
      { top_k: null, min_p: null },
    ]) {
      assert.deepEqual(
        samplingExtensions(off),
        { presencePenalty: 0, frequencyPenalty: 0, logitBias: [] },
        JSON.stringify(off),
      );
    }
  });

  it("every extension is declared in the table an OpenAPI generator reads", () => {
    for (const name of ["top_k", "min_p", "repetition_penalty", "best_of"]) {
      const ext = EXTENSION_PARAMETERS[name];
      assert.ok(ext, name);
      assert.equal(ext.origin, "vllm");
      assert.ok(ext.endpoints.includes("chat"));
    }
    assert.deepEqual(EXTENSION_PARAMETERS.best_of?.endpoints, ["chat"]);
  });
});

describe("chat request: the deprecated functions", () => {
  const fn = { name: "f", description: "d", parameters: { type: "object", properties: {} } };
  const limits = { maxTokensEvaluated: 200_000 };
  const parse = (extra: Record<string, unknown>) => parseChatCompletionRequest({ ...base, ...extra });

  it("maps functions + function_call onto tool calling with one call at most (default auto)", () => {
    const expected = { tools: [{ name: "f", description: "d", parameters: fn.parameters, strict: false }] };
    assert.deepEqual(toolCalling(parse({ functions: [fn] })), { ...expected, toolChoice: "auto", parallel: false });
    assert.deepEqual(toolCalling(parse({ functions: [fn], function_call: "auto", parallel_tool_calls: true })), {
      ...expected,
      toolChoice: "auto",
      parallel: false,
    });
    assert.deepEqual(toolCalling(parse({ functions: [fn], function_call: { name: "f" } })), {
      ...expected,
      toolChoice: { name: "f" },
      parallel: false,
    });
    assert.equal(toolCalling(parse({ functions: [fn], function_call: "none" })), undefined);
    // Without functions, none and auto change nothing (as tool_choice none/auto without tools).
    assert.equal(toolCalling(parse({ function_call: "none" })), undefined);
    assert.equal(toolCalling(parse({ function_call: "auto", tools: [] })), undefined);
    const generation = chatGeneration(parse({ functions: [fn] }), limits);
    assert.equal(generation.legacyFunctions, true);
    assert.equal(generation.toolsOffered, true);
    assert.equal(generation.plan.errorNames, FUNCTIONS_ERROR_NAMES);
    assert.equal(chatGeneration(parse({}), limits).legacyFunctions, false);
  });

  it("names the engine's tool fields as the request declared them", () => {
    assert.equal(FUNCTIONS_ERROR_NAMES.param("tools[2].parameters"), "functions[2].parameters");
    assert.equal(FUNCTIONS_ERROR_NAMES.param("tools"), "functions");
    assert.equal(CHAT_ERROR_NAMES.param("tools[2].parameters"), "tools[2].function.parameters");
    assert.equal(CHAT_ERROR_NAMES.param("tools"), "tools");
  });

  it("pairs an assistant function_call and the function messages after it with one call id", () => {
    const req = parse({
      messages: [
        { role: "user", content: "u" },
        { role: "assistant", content: null, function_call: { name: "f", arguments: '{"a":1}' } },
        { role: "function", name: "f", content: "r1" },
        { role: "assistant", content: "then", function_call: { name: "g", arguments: "{}" } },
        { role: "function", name: "g", content: null },
      ],
    });
    assert.deepEqual(req.messages.map(engineMessage), [
      { role: "user", content: "u" },
      { role: "assistant", content: "", toolCalls: [{ id: functionCallId(1), name: "f", arguments: '{"a":1}' }] },
      { role: "tool", content: "r1", toolCallId: functionCallId(1) },
      { role: "assistant", content: "then", toolCalls: [{ id: functionCallId(3), name: "g", arguments: "{}" }] },
      { role: "tool", content: "", toolCallId: functionCallId(3) },
    ]);
    assert.notEqual(functionCallId(1), functionCallId(3));
    // Alone (as /tokenize may send it, unchecked): a tool result that answers no call.
    assert.deepEqual(engineMessage({ role: "function", name: "f", content: "x" }), { role: "tool", content: "x" });
  });

  it("refuses what cannot be honoured, naming the field", () => {
    rejects(
      { ...base, function_call: { name: "f" } },
      { param: "function_call", code: "invalid_value", message: /only allowed when 'functions' are specified/ },
    );
    rejects(
      { ...base, functions: [fn], function_call: { name: "g" } },
      { param: "function_call", code: "invalid_value" },
    );
    rejects(
      { ...base, functions: [fn, fn] },
      { param: "functions", code: "invalid_value", message: /'f' is used twice/ },
    );
    rejects({ ...base, functions: [] }, { param: "functions", code: "empty_array" });
    rejects({ ...base, functions: [{ name: "has space" }] }, { param: "functions[0].name", code: "invalid_value" });
    rejects(
      { ...base, messages: [{ role: "function", name: "f", content: "x" }] },
      { param: "messages[0].role", code: "invalid_value", message: /preceding message with 'function_call'/ },
    );
    const mapped = (extra: Record<string, unknown>, param: string) =>
      assert.throws(
        () => chatGeneration(parse(extra), limits),
        (e: unknown) => {
          assert.ok(e instanceof ApiError);
          assert.equal(e.status, 400);
          assert.equal(e.param, param);
          return true;
        },
      );
    mapped({ functions: [fn], tools: [{ type: "function", function: fn }] }, "functions");
    mapped({ functions: [fn], response_format: { type: "json_object" } }, "response_format");
    // Named, or none: a structured answer or a forced call, as with tool_choice.
    chatGeneration(parse({ functions: [fn], function_call: "none", response_format: { type: "json_object" } }), limits);
    // Custom tool calls in the history stay refused.
    rejects(
      {
        ...base,
        messages: [
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c", type: "custom", custom: { name: "c", input: "x" } }],
          },
        ],
      },
      { param: "messages", code: "unsupported_parameter", message: /custom tool calls/ },
    );
  });

  it("takes what the openai SDK sends for functions", async () => {
    const [body] = await bodiesSentBySdk((client) =>
      client.chat.completions.create({
        model: "m",
        messages: [
          { role: "user", content: "u" },
          { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
          { role: "function", name: "f", content: "r" },
        ],
        functions: [fn],
        function_call: { name: "f" },
      }),
    );
    const req = parseChatCompletionRequest(body);
    assert.deepEqual(req.function_call, { name: "f" });
  });
});
