// Generated JSON follows its schema the way users expect (issue #14), through the real server, the
// random-weight tiny model and the official client:
// - an object schema that lists properties without saying additionalProperties gets no other
//   members (llama.cpp and xgrammar do the same), so non-strict tool arguments end and parse
//   instead of running to max_tokens with invented keys;
// - a non-strict schema's keyword that cannot be enforced is dropped, and the rest of the schema
//   is still enforced (not "any JSON object").
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const messages = [{ role: "user" as const, content: "Book a table for tonight." }];
const SEEDS = [1, 2];
// Grammar-constrained sampling is slow on a shared 2-core machine: past the helper's 60 s timeout.
const slow = { timeout: 600_000 };
const ajv = new Ajv({ strict: false });

// Strings are bounded: a random model picks characters uniformly and would rarely close one.
const booking = {
  type: "object",
  properties: {
    place: { type: "string", maxLength: 8 },
    people: { type: "integer", minimum: 1, maximum: 12 },
    outside: { type: "boolean" },
  },
  required: ["place"],
};
// `format: "email"` and `multipleOf` cannot be enforced by the grammar: dropped for a non-strict
// tool; everything else (required members, types, lengths, bounds, no other members) holds.
const contact = {
  type: "object",
  properties: {
    email: { type: "string", format: "email", maxLength: 12 },
    age: { type: "integer", minimum: 18, maximum: 99, multipleOf: 1 },
    note: { type: "string", maxLength: 4 },
  },
  required: ["email", "age"],
};
const withoutDropped = {
  ...contact,
  properties: {
    ...contact.properties,
    email: { type: "string", maxLength: 12 },
    age: { type: "integer", minimum: 18, maximum: 99 },
  },
};

/** One call to `name`, non-strict (no `strict` field, as the openai SDK and LangChain send it). */
async function namedCall(name: string, parameters: Record<string, unknown>, seed: number): Promise<unknown> {
  const tools: ChatCompletionTool[] = [{ type: "function", function: { name, parameters } }];
  const res = await server.client.chat.completions.create(
    {
      model: "tiny",
      messages,
      tools,
      tool_choice: { type: "function", function: { name } },
      parallel_tool_calls: false,
      seed,
      max_tokens: 100,
    },
    slow,
  );
  const choice = res.choices[0]!;
  assert.equal(choice.finish_reason, "stop", `seed ${seed}: ${JSON.stringify(choice.message)}`);
  if (process.env.SCHEMA_TEST_VERBOSE)
    console.log(seed, res.usage?.completion_tokens, JSON.stringify(choice.message.tool_calls));
  const calls = choice.message.tool_calls ?? [];
  assert.equal(calls.length, 1);
  const call = calls[0]! as { function: { name: string; arguments: string } };
  assert.equal(call.function.name, name);
  return JSON.parse(call.function.arguments);
}

describe("schema following", () => {
  it("a named non-strict tool without additionalProperties: arguments parse and have only the declared keys", async () => {
    const validate = ajv.compile({ ...booking, additionalProperties: false });
    for (const seed of SEEDS) {
      const args = (await namedCall("book", booking, seed)) as Record<string, unknown>;
      for (const key of Object.keys(args)) assert.ok(key in booking.properties, `seed ${seed}: invented key ${key}`);
      assert.ok(validate(args), `seed ${seed}: ${JSON.stringify(args)}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  it("a non-strict tool with unenforceable keywords still gets the rest of its schema", async () => {
    const validate = ajv.compile({ ...withoutDropped, additionalProperties: false });
    for (const seed of SEEDS) {
      const args = (await namedCall("contact", contact, seed)) as Record<string, unknown>;
      assert.ok("email" in args && "age" in args, `seed ${seed}: required members missing: ${JSON.stringify(args)}`);
      assert.ok(validate(args), `seed ${seed}: ${JSON.stringify(args)}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  it("the same for response_format json_schema when strict is not true", async () => {
    const validate = ajv.compile({ ...withoutDropped, additionalProperties: false });
    for (const seed of SEEDS) {
      const res = await server.client.chat.completions.create(
        {
          model: "tiny",
          messages,
          seed,
          max_tokens: 100,
          response_format: { type: "json_schema", json_schema: { name: "contact", schema: contact } },
        },
        slow,
      );
      assert.equal(res.choices[0]!.finish_reason, "stop", `seed ${seed}`);
      const value: unknown = JSON.parse(res.choices[0]!.message.content!);
      assert.ok(validate(value), `seed ${seed}: ${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  it("a strict tool with an unenforceable keyword is still a 400 naming it", async () => {
    await assert.rejects(
      server.client.chat.completions.create({
        model: "tiny",
        messages,
        tools: [
          {
            type: "function",
            function: {
              name: "contact",
              strict: true,
              parameters: { ...contact, required: ["email", "age", "note"], additionalProperties: false },
            },
          },
        ],
        tool_choice: "required",
      }),
      (e: unknown) =>
        e instanceof Error &&
        (e as { status?: number }).status === 400 &&
        /"format"/.test(e.message) &&
        (e as { param?: string }).param === "tools[0].function.parameters",
    );
  });
});
