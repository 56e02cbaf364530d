// LangChain's ChatOpenAI (@langchain/openai) against the real server on the tiny model, as
// LangChain users write it: bindTools with zod schemas and tool_choice "required", streaming,
// and structured output. The model's weights are random; the grammar is what makes each call
// well-formed, which is what these tests check.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChatOpenAI } from "@langchain/openai";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { startTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

// Strings are bounded: a random-weight model picks characters uniformly and would rarely close one.
const weather = tool(async ({ city }) => `sunny in ${city}`, {
  name: "get_weather",
  description: "Weather in a city",
  schema: z.object({ city: z.string().max(8), days: z.number().int().min(1).max(7) }),
});

function chat(maxTokens = 60): ChatOpenAI {
  return new ChatOpenAI({
    model: "tiny",
    apiKey: "unused",
    configuration: { baseURL: server.baseURL },
    temperature: 0.7,
    maxTokens,
    modelKwargs: { seed: 7 },
  });
}

// One call per answer, and room for the grammar's whitespace (a random model may indent every
// key): with parallel calls allowed a random model goes on calling until max_tokens cuts the last.
const oneCall = { parallel_tool_calls: false } as const;

describe("LangChain ChatOpenAI", () => {
  it("invoke() returns the model's text", async () => {
    const message = await chat().invoke("Say hello.");
    assert.equal(typeof message.content, "string");
    assert.ok((message.content as string).length > 0);
    assert.equal(message.response_metadata.finish_reason, "length");
  });

  it("bindTools(…, { tool_choice: 'required' }) yields a parsed call whose arguments follow the schema", async () => {
    const message = await chat(200)
      .bindTools([weather], { tool_choice: "required", ...oneCall })
      .invoke("Weather in Paris?");
    assert.equal(message.invalid_tool_calls?.length ?? 0, 0, JSON.stringify(message.invalid_tool_calls));
    assert.ok(message.tool_calls && message.tool_calls.length > 0, "no tool call parsed");
    for (const call of message.tool_calls) {
      assert.equal(call.name, "get_weather");
      assert.ok(weather.schema.safeParse(call.args).success, JSON.stringify(call.args));
      assert.match(call.id ?? "", /^call_/);
    }
  });

  it("a tool given as plain JSON Schema, silent on additionalProperties, gets only its declared keys", async () => {
    // As most tools in the wild are written: not strict, no additionalProperties. Extra keys with
    // free-running strings would take the answer to max_tokens and leave no parsable call.
    const lookup = {
      type: "function" as const,
      function: {
        name: "lookup",
        description: "Look a word up",
        parameters: {
          type: "object",
          properties: { word: { type: "string", maxLength: 8 }, lang: { enum: ["en", "fr"] } },
          required: ["word"],
        },
      },
    };
    const message = await chat(200)
      .bindTools([lookup], { tool_choice: "required", ...oneCall })
      .invoke("Look up 'chat'.");
    assert.equal(message.invalid_tool_calls?.length ?? 0, 0, JSON.stringify(message.invalid_tool_calls));
    assert.ok(message.tool_calls && message.tool_calls.length > 0, "no tool call parsed");
    for (const call of message.tool_calls) {
      assert.equal(call.name, "lookup");
      assert.equal(typeof call.args.word, "string");
      for (const key of Object.keys(call.args)) assert.ok(["word", "lang"].includes(key), `undeclared key ${key}`);
    }
  });

  it("a named tool, streamed: the chunks concatenate into the same kind of call", async () => {
    const stream = await chat(200)
      .bindTools([weather], { tool_choice: "get_weather", ...oneCall })
      .stream("Weather in Rome?");
    let whole: Awaited<ReturnType<typeof stream.next>>["value"] | undefined;
    for await (const chunk of stream) whole = whole === undefined ? chunk : whole.concat(chunk);
    assert.ok(whole?.tool_calls && whole.tool_calls.length > 0, "no tool call in the stream");
    assert.ok(weather.schema.safeParse(whole.tool_calls[0]!.args).success, JSON.stringify(whole.tool_calls[0]!.args));
  });

  it("withStructuredOutput(zod) parses a schema-valid object", async () => {
    const schema = z.object({ answer: z.enum(["yes", "no"]), score: z.number().int().min(0).max(9) });
    const result = await chat().withStructuredOutput(schema, { name: "verdict" }).invoke("Is it raining?");
    assert.ok(schema.safeParse(result).success, JSON.stringify(result));
  });
});
