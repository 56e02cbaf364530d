// The OpenAI Agents SDK (@openai/agents) against the real server on the tiny model: an agent with
// a function tool, run over the Responses API (the SDK's default) and over chat completions.
// The model's weights are random; the run must still go model → tool call → tool → final output.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "@openai/agents";
import { z } from "zod";
import { startStoringTestServer, type TestServer } from "../helpers/server.js";

// Traces would be exported to OpenAI's servers.
setTracingDisabled(true);

let server: TestServer;
before(async () => {
  server = await startStoringTestServer();
});
after(async () => {
  await server?.close();
});

const calls: unknown[] = [];
// Strings are bounded: a random-weight model picks characters uniformly and would rarely close one.
const getWeather = tool({
  name: "get_weather",
  description: "Weather in a city",
  parameters: z.object({ city: z.string().max(8) }),
  execute: async ({ city }) => {
    calls.push(city);
    return `sunny in ${city}`;
  },
});

for (const useResponses of [true, false]) {
  describe(`Agents SDK over ${useResponses ? "/v1/responses" : "/v1/chat/completions"}`, () => {
    it("runs the agent: a forced tool call, the tool, and its result as the final output", async () => {
      calls.length = 0;
      const runner = new Runner({
        modelProvider: new OpenAIProvider({ baseURL: server.baseURL, apiKey: "unused", useResponses }),
      });
      const agent = new Agent({
        name: "weather",
        instructions: "Answer with the weather tool.",
        model: "tiny",
        tools: [getWeather],
        // Room for the grammar's whitespace: a random model may indent every key. Greedy, so the
        // run is the same every time (the Responses API has no seed).
        // One call: with parallel calls allowed a random model goes on calling until the limit.
        modelSettings: { toolChoice: "required", maxTokens: 300, temperature: 0, parallelToolCalls: false },
        toolUseBehavior: "stop_on_first_tool",
      });
      const result = await runner.run(agent, "Weather in Paris?", { maxTurns: 2 });
      assert.equal(calls.length, 1, "the tool ran once");
      assert.equal(result.finalOutput, `sunny in ${calls[0]}`);
    });

    it("streams a structured final output (the model must finish on its own: a length cut is a failure to the SDK)", async () => {
      const runner = new Runner({
        modelProvider: new OpenAIProvider({ baseURL: server.baseURL, apiKey: "unused", useResponses }),
      });
      const verdict = z.object({ answer: z.enum(["yes", "no"]), score: z.number().int().min(0).max(9) });
      const agent = new Agent({
        name: "judge",
        instructions: "Answer yes or no.",
        model: "tiny",
        outputType: verdict,
        modelSettings: { maxTokens: 300, temperature: 0 },
      });
      const result = await runner.run(agent, "Is it raining?", { stream: true, maxTurns: 1 });
      let text = "";
      for await (const chunk of result.toTextStream()) text += chunk;
      await result.completed;
      assert.ok(verdict.safeParse(JSON.parse(text)).success, text);
      assert.deepEqual(result.finalOutput, JSON.parse(text));
    });
  });
}
