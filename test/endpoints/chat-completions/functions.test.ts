// The deprecated function calling (`functions`, `function_call`, `function` messages) through the
// real server, the real tiny model and the official clients (openai v6 and v7). It runs on the
// tool machinery: the grammar makes every call well-formed and schema-valid, whatever the random
// weights choose; these tests check the wire form OpenAI gives that API.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { startTestServer, type TestServer } from "../../helpers/server.js";

type OpenAIV7 = typeof import("openai-v7").default;

let server: TestServer;
/** The v6 client, with room for slow grammar-constrained calls on a busy machine (2 shared cores). */
let client: OpenAI;
before(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: "test-key", maxRetries: 0, timeout: 600_000 });
});
after(async () => {
  await server?.close();
});

const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "What time is it in Tokyo?" }];
// Small, bounded, closed schemas: a random model picks characters uniformly and would rarely
// close an unbounded string.
const timeParams = {
  type: "object",
  properties: { zone: { type: "string", maxLength: 6 }, seconds: { type: "boolean" } },
  required: ["zone", "seconds"],
  additionalProperties: false,
};
const weatherParams = {
  type: "object",
  properties: { city: { type: "string", maxLength: 8 }, days: { type: "integer", minimum: 1, maximum: 7 } },
  required: ["city", "days"],
  additionalProperties: false,
};
const functions = [
  { name: "get_time", description: "The time in a zone", parameters: timeParams },
  { name: "get_weather", parameters: weatherParams },
];
const ajv = new Ajv({ strict: false });
const validators = { get_time: ajv.compile(timeParams), get_weather: ajv.compile(weatherParams) };
// Token 151657 is Qwen's <tool_call>: biased, the model opens a call, and the grammar holds it to
// one valid call of a declared function.
const opensCall = { "151657": 100 };

function checkCall(call: { name: string; arguments: string } | null | undefined, name?: string): void {
  assert.ok(call, "a function_call");
  if (name !== undefined) assert.equal(call.name, name);
  const validate = validators[call.name as keyof typeof validators];
  assert.ok(validate, `unknown function ${call.name}`);
  const args: unknown = JSON.parse(call.arguments);
  assert.ok(validate(args), `${call.name}(${call.arguments}): ${ajv.errorsText(validate.errors)}`);
}

describe("deprecated function calling", () => {
  it("function_call {name} calls that function: message.function_call, no tool_calls, finish_reason stop", async () => {
    // A named call finishes with `stop`, as OpenAI does for a named function_call (and tool_choice).
    const res = await client.chat.completions.create({
      model: "tiny",
      messages,
      functions,
      function_call: { name: "get_weather" },
      seed: 7,
      max_tokens: 200,
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, "stop");
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls, undefined);
    checkCall(choice.message.function_call, "get_weather");
  });

  it("function_call auto (the default): a call the model opens is a function_call, finish_reason function_call", async () => {
    for (const [seed, call] of [
      [1, "auto"],
      [2, undefined],
    ] as const) {
      const res = await client.chat.completions.create({
        model: "tiny",
        messages,
        functions,
        ...(call === undefined ? {} : { function_call: call }),
        logit_bias: opensCall,
        seed,
        max_tokens: 200,
      });
      const choice = res.choices[0]!;
      assert.equal(choice.finish_reason, "function_call");
      assert.equal(choice.message.content, null);
      assert.equal(choice.message.tool_calls, undefined);
      checkCall(choice.message.function_call);
    }
  });

  it("the functions are rendered into the prompt; function_call none leaves them out and cannot call", async () => {
    const params = { model: "tiny", messages, seed: 3, max_tokens: 4 };
    const plain = await client.chat.completions.create(params);
    const offered = await client.chat.completions.create({ ...params, functions });
    assert.ok(offered.usage!.prompt_tokens > plain.usage!.prompt_tokens + 50, "the functions are rendered");

    const none = await client.chat.completions.create({ ...params, functions, function_call: "none" });
    assert.equal(none.usage!.prompt_tokens, plain.usage!.prompt_tokens);
    assert.equal(none.choices[0]!.message.function_call, undefined);
    assert.equal(none.choices[0]!.message.tool_calls, undefined);
    assert.equal(none.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.equal(none.choices[0]!.finish_reason, "length");
    // Biased towards <tool_call>, "none" still cannot call: the token is text.
    const biased = await client.chat.completions.create({
      ...params,
      functions,
      function_call: "none",
      logit_bias: opensCall,
    });
    assert.equal(biased.choices[0]!.message.function_call, undefined);
    assert.equal(biased.choices[0]!.message.content, "<tool_call>".repeat(4));
  });

  it("streams delta.function_call: the name with empty arguments first, then argument fragments", async () => {
    // (The openai v7 test below streams a named call.)
    const params = { model: "tiny", messages, functions, logit_bias: opensCall, seed: 11, max_tokens: 200 };
    const plain = await client.chat.completions.create(params);
    const stream = client.chat.completions.stream(params);
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    stream.on("chunk", (chunk) => chunks.push(structuredClone(chunk)));
    const streamed = await stream.finalChatCompletion();
    assert.deepEqual(streamed.choices[0]!.message.function_call, plain.choices[0]!.message.function_call);
    assert.equal(streamed.choices[0]!.finish_reason, "function_call");
    checkCall(streamed.choices[0]!.message.function_call);

    // The wire form, as OpenAI streams it.
    const first = chunks[0]!.choices[0]!.delta;
    assert.deepEqual(first, {
      role: "assistant",
      content: null,
      refusal: null,
      function_call: { name: plain.choices[0]!.message.function_call!.name, arguments: "" },
    });
    let args = "";
    for (const chunk of chunks.slice(1, -1)) {
      const delta = chunk.choices[0]!.delta;
      assert.deepEqual(Object.keys(delta), ["function_call"], JSON.stringify(delta));
      assert.deepEqual(Object.keys(delta.function_call!), ["arguments"]);
      args += delta.function_call!.arguments;
    }
    assert.ok(chunks.length > 3, "the arguments come in fragments");
    assert.equal(args, plain.choices[0]!.message.function_call!.arguments);
    const last = chunks.at(-1)!.choices[0]!;
    assert.deepEqual(last.delta, {});
    assert.equal(last.finish_reason, "function_call");
  });

  it("renders an assistant function_call and the function message answering it as a tool call and its result", async () => {
    const call = { name: "get_time", arguments: '{"zone": "JST", "seconds": false}' };
    const legacy = [
      { role: "user", content: "Time?" },
      { role: "assistant", content: null, function_call: call },
      { role: "function", name: "get_time", content: "12:00" },
    ];
    const modern = [
      { role: "user", content: "Time?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: call }],
      },
      { role: "tool", tool_call_id: "call_1", content: "12:00" },
    ];
    const tools = functions.map((f) => ({ type: "function", function: f }));
    const tokenize = async (history: unknown[]) =>
      (
        (await (
          await fetch(`${server.root}/tokenize`, {
            method: "POST",
            body: JSON.stringify({ model: "tiny", messages: history, tools, add_generation_prompt: true }),
          })
        ).json()) as { tokens: number[] }
      ).tokens;
    const tokens = await tokenize(legacy);
    assert.deepEqual(tokens, await tokenize(modern), "the same prompt as the tool form");
    const { prompt } = (await (
      await fetch(`${server.root}/detokenize`, { method: "POST", body: JSON.stringify({ model: "tiny", tokens }) })
    ).json()) as { prompt: string };
    assert.ok(
      prompt.includes(
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_time", "arguments": {"zone": "JST", "seconds": false}}\n</tool_call><|im_end|>',
      ),
      prompt,
    );
    assert.ok(
      prompt.includes("<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>\n<|im_start|>assistant\n"),
      prompt,
    );

    // The chat endpoint renders the same history with the same functions into the same prompt.
    const res = await client.chat.completions.create({
      model: "tiny",
      messages: legacy as ChatCompletionMessageParam[],
      functions,
      seed: 1,
      max_tokens: 3,
    });
    assert.equal(res.usage!.prompt_tokens, tokens.length);
  });

  it("the openai v7 client: a forced call, plain and streamed", async () => {
    const OpenAIv7: OpenAIV7 = (await import("openai-v7")).default;
    const v7 = new OpenAIv7({ baseURL: server.baseURL, apiKey: "x", maxRetries: 0, timeout: 600_000 });
    const params = {
      model: "tiny",
      messages,
      functions,
      function_call: { name: "get_time" },
      seed: 5,
      max_tokens: 200,
    };
    const plain = await v7.chat.completions.create(params);
    assert.equal(plain.choices[0]!.finish_reason, "stop");
    checkCall(plain.choices[0]!.message.function_call, "get_time");
    const streamed = await v7.chat.completions.stream(params).finalChatCompletion();
    assert.deepEqual(streamed.choices[0]!.message.function_call, plain.choices[0]!.message.function_call);
  });
});

describe("deprecated function calling: errors", () => {
  const bad = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
    try {
      await client.chat.completions.create({
        model: "tiny",
        messages,
        max_tokens: 1,
        ...body,
      } as unknown as ChatCompletionCreateParams & { stream?: false });
    } catch (error) {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      return error;
    }
    assert.fail(`expected a 400 for ${JSON.stringify(body)}`);
  };

  it("functions with tools", async () => {
    const e = await bad({ functions, tools: [{ type: "function", function: functions[0] }] });
    assert.equal(e.param, "functions");
    assert.match(e.message, /'tools'/);
  });

  it("a named function_call without functions, or naming none of them", async () => {
    assert.equal((await bad({ function_call: { name: "get_time" } })).param, "function_call");
    const e = await bad({ functions, function_call: { name: "nope" } });
    assert.equal(e.param, "function_call");
    assert.match(e.message, /'nope'/);
  });

  it("a function message that answers no function_call", async () => {
    const orphan = await bad({ messages: [...messages, { role: "function", name: "get_time", content: "12:00" }] });
    assert.equal(orphan.param, "messages[1].role");
    assert.match(orphan.message, /'function_call'/);
    // After tool_calls (not a function_call), or after another turn.
    const afterTools = await bad({
      messages: [
        ...messages,
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c", type: "function", function: { name: "get_time", arguments: "{}" } }],
        },
        { role: "function", name: "get_time", content: "12:00" },
      ],
    });
    assert.equal(afterTools.param, "messages[2].role");
    // A tool message cannot answer a function_call: it has no id to name.
    const toolAnswer = await bad({
      messages: [
        ...messages,
        { role: "assistant", content: null, function_call: { name: "get_time", arguments: "{}" } },
        { role: "tool", tool_call_id: "call_function_1", content: "12:00" },
      ],
    });
    assert.equal(toolAnswer.param, "messages[2].role");
    assert.match(toolAnswer.message, /'tool_calls'/);
  });

  it("duplicate names, response_format with function_call auto, a schema the grammar cannot enforce", async () => {
    assert.equal((await bad({ functions: [functions[0], functions[0]] })).param, "functions");
    assert.equal((await bad({ functions, response_format: { type: "json_object" } })).param, "response_format");
    const e = await bad({
      functions: [
        functions[0],
        {
          name: "f",
          // Not in OpenAI's function type, taken as on a tool: strict schemas must be enforced exactly.
          strict: true,
          parameters: { type: "object", properties: { a: { not: { type: "string" } } }, required: ["a"] },
        },
      ],
      function_call: { name: "f" },
    });
    assert.equal(e.param, "functions[1].parameters");
  });
});
