// The AI SDK (`ai` 6 with `@ai-sdk/openai` 3) against the real server on the tiny model, as its
// users write it: createOpenAI({ baseURL }) whose default model speaks the Responses API, and
// .chat() for chat completions; generateText, streamText, tools with toolChoice, and
// structured output. The model's weights are random: the checks are on shapes, not words.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateObject, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { startStoringTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startStoringTestServer();
});
after(async () => {
  await server?.close();
});

const provider = () => createOpenAI({ baseURL: server.baseURL, apiKey: "unused" });
// The Responses API has no seed (the SDK drops it with a warning): temperature 0 keeps every
// test deterministic on both APIs.
const greedy = { temperature: 0 } as const;
// Strings are bounded: a random-weight model picks characters uniformly and would rarely close one.
const weatherInput = z.object({ city: z.string().max(8), days: z.number().int().min(1).max(7) });
const weather = tool({
  description: "Weather in a city",
  inputSchema: weatherInput,
  execute: async ({ city }) => `sunny in ${city}`,
});

for (const api of ["responses", "chat"] as const) {
  const model = () => (api === "responses" ? provider()("tiny") : provider().chat("tiny"));

  describe(`AI SDK over ${api === "responses" ? "/v1/responses (the provider's default)" : "/v1/chat/completions"}`, () => {
    it("generateText returns text, usage and a length finish", async () => {
      const result = await generateText({ model: model(), prompt: "Say hello.", maxOutputTokens: 12, ...greedy });
      assert.ok(result.text.length > 0);
      assert.equal(result.finishReason, "length");
      assert.equal(result.usage.outputTokens, 12);
      assert.ok((result.usage.inputTokens ?? 0) > 0);
    });

    it("streamText streams the same kind of text", async () => {
      const result = streamText({ model: model(), prompt: "Count.", maxOutputTokens: 10, ...greedy });
      let text = "";
      for await (const delta of result.textStream) text += delta;
      assert.ok(text.length > 0);
      assert.equal(await result.text, text);
      assert.equal(await result.finishReason, "length");
    });

    it("a required tool is called with schema-valid input, executed, and its result sent back", async () => {
      const result = await generateText({
        model: model(),
        prompt: "Weather in Paris?",
        tools: { weather },
        toolChoice: "required",
        stopWhen: stepCountIs(2),
        // Room for the grammar's whitespace (a random model may indent every key).
        maxOutputTokens: 300,
        ...greedy,
        // One call: with parallel calls allowed a random model goes on calling until the limit.
        providerOptions: { openai: { parallelToolCalls: false } },
      });
      const first = result.steps[0]!;
      assert.ok(first.toolCalls.length > 0, "no tool call in the first step");
      for (const call of first.toolCalls) {
        assert.equal(call.toolName, "weather");
        assert.ok(weatherInput.safeParse(call.input).success, JSON.stringify(call.input));
      }
      assert.equal(first.toolResults.length, first.toolCalls.length);
      assert.equal(result.steps.length, 2, "the tool result went back for a second step");
    });

    it("generateObject returns a schema-valid object", async () => {
      const schema = z.object({ answer: z.enum(["yes", "no"]), score: z.number().int().min(0).max(9) });
      const { object } = await generateObject({ model: model(), schema, prompt: "Is it raining?", ...greedy });
      assert.ok(schema.safeParse(object).success, JSON.stringify(object));
    });
  });
}
