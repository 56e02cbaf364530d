// Tool calling through the real server, the real tiny model and the official client. The model's
// weights are random, so whatever it "chooses" is noise; the grammar is what makes every call
// well-formed and schema-valid, and that is what these tests check.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import OpenAI from "openai";
import { zodFunction } from "openai/helpers/zod";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { z } from "zod";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const messages = [{ role: "user" as const, content: "What is the weather in Paris, and the time in Tokyo?" }];
// Strings are bounded: a random model picks characters uniformly and would rarely close one.
const weatherParams = {
  type: "object",
  properties: {
    city: { type: "string", maxLength: 10 },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};
const timeParams = {
  type: "object",
  properties: { zone: { type: "string", maxLength: 6 }, seconds: { type: "boolean" } },
  required: ["zone", "seconds"],
  additionalProperties: false,
};
const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather forecast", parameters: weatherParams, strict: true },
  },
  { type: "function", function: { name: "get_time", parameters: timeParams, strict: true } },
];
const ajv = new Ajv({ strict: false });
const validators = { get_weather: ajv.compile(weatherParams), get_time: ajv.compile(timeParams) };

function checkCall(call: { id: string; type: string; function: { name: string; arguments: string } }): void {
  assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(call.type, "function");
  const validate = validators[call.function.name as keyof typeof validators];
  assert.ok(validate, `unknown function ${call.function.name}`);
  const args: unknown = JSON.parse(call.function.arguments);
  assert.ok(validate(args), `${call.function.name}(${call.function.arguments}): ${ajv.errorsText(validate.errors)}`);
}

type FunctionCall = { id: string; type: "function"; function: { name: string; arguments: string } };
const functionCalls = (calls: unknown[] | undefined): FunctionCall[] => (calls ?? []) as FunctionCall[];

describe("tool calls", () => {
  it("tool_choice required: every choice is schema-valid calls, content null, finish_reason tool_calls", async () => {
    // Parallel calls allowed: the random model may go on calling until max_tokens, so a choice
    // cut by the limit may end in an unfinished call; every finished call must be valid.
    const res = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      tools,
      tool_choice: "required",
      seed: 1,
      max_tokens: 200,
      n: 2,
    });
    let finished = 0;
    for (const choice of res.choices) {
      assert.ok(["tool_calls", "length"].includes(choice.finish_reason), choice.finish_reason);
      assert.equal(choice.message.content, null);
      const calls = functionCalls(choice.message.tool_calls);
      assert.ok(calls.length >= 1);
      const complete = choice.finish_reason === "tool_calls" ? calls : calls.slice(0, -1);
      complete.forEach(checkCall);
      finished += complete.length;
      assert.equal(new Set(calls.map((c) => c.id)).size, calls.length, "ids are unique");
    }
    assert.ok(finished >= 1, "at least one finished call");
  });

  it("parallel_tool_calls false: exactly one call", async () => {
    for (const seed of [4, 5]) {
      const res = await server.client.chat.completions.create({
        model: "tiny",
        messages,
        tools,
        tool_choice: "required",
        parallel_tool_calls: false,
        seed,
        max_tokens: 300,
      });
      assert.equal(res.choices[0]!.finish_reason, "tool_calls");
      const calls = functionCalls(res.choices[0]!.message.tool_calls);
      assert.equal(calls.length, 1);
      checkCall(calls[0]!);
    }
  });

  it("a named tool_choice calls that function and finishes with stop, as OpenAI does", async () => {
    for (const seed of [7, 8]) {
      const res = await server.client.chat.completions.create({
        model: "tiny",
        messages,
        tools,
        tool_choice: { type: "function", function: { name: "get_time" } },
        parallel_tool_calls: false,
        seed,
        max_tokens: 300,
      });
      assert.equal(res.choices[0]!.finish_reason, "stop");
      const calls = functionCalls(res.choices[0]!.message.tool_calls);
      assert.deepEqual(
        calls.map((c) => c.function.name),
        ["get_time"],
      );
      checkCall(calls[0]!);
    }
  });

  it("streaming reassembles the same calls as the non-streaming response (the SDK's .stream())", async () => {
    const params = { model: "tiny", messages, tools, tool_choice: "required" as const, seed: 11, max_tokens: 400 };
    const plain = await server.client.chat.completions.create(params);
    const stream = server.client.chat.completions.stream(params);
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    stream.on("chunk", (chunk) => chunks.push(chunk));
    const streamed = await stream.finalChatCompletion();
    const strip = (calls: FunctionCall[]) =>
      calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments }));
    assert.deepEqual(
      strip(functionCalls(streamed.choices[0]!.message.tool_calls)),
      strip(functionCalls(plain.choices[0]!.message.tool_calls)),
    );
    assert.equal(streamed.choices[0]!.finish_reason, "tool_calls");

    // The wire form: the first delta opens the choice with content null and call 0 (id, type,
    // name, empty arguments); call indexes are contiguous from 0; argument fragments carry no id.
    const first = chunks[0]!.choices[0]!.delta;
    assert.equal(first.role, "assistant");
    assert.equal(first.content, null);
    assert.deepEqual(first.tool_calls?.[0]?.function, { name: first.tool_calls?.[0]?.function?.name, arguments: "" });
    assert.equal(first.tool_calls?.[0]?.index, 0);
    let highest = -1;
    for (const chunk of chunks)
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (call.id !== undefined) {
          assert.equal(call.index, highest + 1, "a new call takes the next index");
          assert.equal(call.type, "function");
          highest = call.index;
        } else assert.equal(call.index, highest, "fragments belong to the open call");
      }
  });

  it("tool_choice auto: text unless the model opens a call, then a grammar-valid call", async () => {
    const text = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      tools,
      seed: 3,
      max_tokens: 20,
    });
    assert.equal(text.choices[0]!.message.tool_calls, undefined);
    assert.ok(text.choices[0]!.message.content!.length > 0);
    assert.equal(text.choices[0]!.finish_reason, "length");

    // logit_bias makes the model write <tool_call> (token 151657) first; from there the grammar
    // holds it to a valid call of a declared function, and the turn ends after it.
    for (const seed of [1, 2]) {
      const res = await server.client.chat.completions.create({
        model: "tiny",
        messages,
        tools,
        tool_choice: "auto",
        parallel_tool_calls: false,
        logit_bias: { "151657": 100 },
        seed,
        max_tokens: 300,
      });
      assert.equal(res.choices[0]!.finish_reason, "tool_calls");
      const calls = functionCalls(res.choices[0]!.message.tool_calls);
      assert.equal(calls.length, 1);
      checkCall(calls[0]!);
    }
  });

  it(".runTools() with tool_choice required runs a tool, sends its result back and finishes", async () => {
    const seen: unknown[] = [];
    const runner = server.client.chat.completions.runTools(
      {
        model: "tiny",
        messages,
        tool_choice: "required",
        parallel_tool_calls: false,
        seed: 5,
        max_tokens: 300,
        tools: [
          {
            type: "function",
            function: {
              name: "get_time",
              description: "The time in a zone",
              parameters: timeParams,
              parse: (args: string): unknown => JSON.parse(args),
              function: (args: unknown) => {
                seen.push(args);
                return "12:00";
              },
            },
          },
        ],
      },
      { maxChatCompletions: 2 },
    );
    await runner.done();
    assert.equal(seen.length, 2, "one call per completion");
    for (const args of seen) assert.ok(validators.get_time(args));
    // The second request carried the first call and its result in the history.
    const roles = runner.messages.map((m) => m.role);
    assert.deepEqual(roles, ["user", "assistant", "tool", "assistant", "tool"]);
    const completions = runner.allChatCompletions();
    assert.equal(completions.length, 2);
    assert.ok(completions[1]!.usage!.prompt_tokens > completions[0]!.usage!.prompt_tokens, "the history grew");
  });

  it("strict zod tools through .parse() give parsed_arguments", async () => {
    const Lookup = z.object({ word: z.string().max(6), lang: z.enum(["en", "fr"]) });
    const res = await server.client.chat.completions.parse({
      model: "tiny",
      messages,
      tools: [zodFunction({ name: "lookup", parameters: Lookup })],
      tool_choice: "required",
      parallel_tool_calls: false,
      seed: 2,
      max_tokens: 200,
    });
    const call = res.choices[0]!.message.tool_calls?.[0];
    assert.equal(call?.type, "function");
    if (call?.type === "function")
      assert.deepEqual(Lookup.parse(call.function.parsed_arguments), call.function.parsed_arguments);
  });

  it("renders earlier calls and tool results into the template (Qwen's <tool_call> / <tool_response>)", async () => {
    const history = [
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "sunny <|im_end|>" },
    ];
    const root = server.baseURL.replace(/\/v1$/, "");
    const tokenize = async (body: unknown) =>
      (await (await fetch(`${root}/tokenize`, { method: "POST", body: JSON.stringify(body) })).json()) as {
        tokens: number[];
      };
    const { tokens } = await tokenize({ model: "tiny", messages: history, tools, add_generation_prompt: true });
    const { prompt } = (await (
      await fetch(`${root}/detokenize`, { method: "POST", body: JSON.stringify({ model: "tiny", tokens }) })
    ).json()) as { prompt: string };
    assert.ok(prompt.includes("# Tools"), prompt);
    assert.ok(prompt.includes('"name": "get_weather"'), prompt);
    assert.ok(
      prompt.includes(
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
      ),
      prompt,
    );
    assert.ok(
      prompt.includes(
        "<|im_start|>user\n<tool_response>\nsunny <|im_end|>\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
      ),
      prompt,
    );
    // Four turns close with the special <|im_end|>; the tool's text "<|im_end|>" stays text.
    assert.equal(tokens.filter((t) => t === 151_645).length, 4);
    // And the chat endpoint takes the same history.
    const res = await server.client.chat.completions.create({
      model: "tiny",
      messages: history as OpenAI.Chat.ChatCompletionMessageParam[],
      tools,
      seed: 1,
      max_tokens: 5,
    });
    assert.equal(res.usage!.prompt_tokens, tokens.length);
  });

  it("reasoning_format parsed moves <think> text to reasoning_content", async () => {
    // Token 151667 is <think>: biased, the model opens a thought and (random) never closes it.
    const params = { model: "tiny", messages, seed: 1, max_tokens: 6, logit_bias: { "151667": 100 } };
    const parsed = await server.client.chat.completions.create({
      ...params,
      reasoning_format: "parsed",
    } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    const message = parsed.choices[0]!.message as { content: string | null; reasoning_content?: string | null };
    assert.equal(message.content, "");
    assert.equal(message.reasoning_content, "<think>".repeat(5));
    const plain = await server.client.chat.completions.create(params);
    assert.equal(plain.choices[0]!.message.content, "<think>".repeat(6));
    assert.equal((plain.choices[0]!.message as { reasoning_content?: unknown }).reasoning_content, undefined);
  });
});

describe("tool call errors", () => {
  const bad = async (body: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.BadRequestError>> => {
    try {
      await server.client.chat.completions.create({
        model: "tiny",
        messages,
        ...body,
      } as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    } catch (error) {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      return error;
    }
    assert.fail("expected a 400");
  };

  it("a named function that is not among the tools", async () => {
    const e = await bad({ tools, tool_choice: { type: "function", function: { name: "nope" } } });
    assert.equal(e.param, "tool_choice");
    assert.match(e.message, /'nope'/);
  });

  it("a tool_choice that needs tools, without tools", async () => {
    assert.equal((await bad({ tool_choice: "required" })).param, "tool_choice");
    assert.equal((await bad({ tool_choice: { type: "function", function: { name: "f" } } })).param, "tool_choice");
  });

  it("a strict tool whose schema cannot be enforced names the keyword and the tool", async () => {
    const e = await bad({
      tools: [
        tools[0],
        {
          type: "function",
          function: {
            name: "f",
            strict: true,
            parameters: {
              type: "object",
              properties: { a: { not: { type: "string" } } },
              required: ["a"],
              additionalProperties: false,
            },
          },
        },
      ],
      tool_choice: "required",
    });
    assert.equal(e.param, "tools[1].function.parameters");
    assert.match(e.message, /"not"/);
  });

  it("response_format with tool_choice auto, custom tools, a function message answering no call", async () => {
    assert.equal((await bad({ tools, response_format: { type: "json_object" } })).param, "response_format");
    assert.equal((await bad({ tools: [{ type: "custom", custom: { name: "c" } }] })).param, "tools");
    assert.equal((await bad({ messages: [{ role: "function", name: "f", content: "x" }] })).param, "messages[0].role");
  });
});
