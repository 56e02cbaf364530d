// response_format through the real server and the official client: grammar-constrained decoding
// makes even the random-weight model produce schema-valid JSON. (The converter's own property
// test over many schemas is test/engine/grammar/json-schema.test.ts.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const messages = [{ role: "user" as const, content: "Answer in JSON." }];
// Strings and arrays are bounded: a random model picks characters uniformly and would rarely
// close an unbounded string within max_tokens.
const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 8 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    role: { enum: ["admin", "user", "guest"] },
    nickname: { anyOf: [{ type: "string", maxLength: 5 }, { type: "null" }] },
    tags: { type: "array", items: { type: "string", maxLength: 4 }, maxItems: 3 },
  },
  required: ["name", "age", "role", "nickname", "tags"],
  additionalProperties: false,
};

function checkPerson(value: unknown): void {
  const p = value as Record<string, unknown>;
  assert.deepEqual(Object.keys(p).sort(), ["age", "name", "nickname", "role", "tags"]);
  assert.ok(typeof p.name === "string" && [...p.name].length <= 8);
  assert.ok(Number.isInteger(p.age) && (p.age as number) >= 0 && (p.age as number) <= 120);
  assert.ok(["admin", "user", "guest"].includes(p.role as string));
  assert.ok(p.nickname === null || (typeof p.nickname === "string" && [...p.nickname].length <= 5));
  assert.ok(
    Array.isArray(p.tags) && p.tags.length <= 3 && p.tags.every((t) => typeof t === "string" && [...t].length <= 4),
  );
}

describe("structured outputs", () => {
  it("produces schema-valid JSON for json_schema, ending the turn after the value", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const res = await server.client.chat.completions.create({
        model: "tiny",
        messages,
        seed,
        max_tokens: 300,
        response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
      });
      assert.equal(res.choices[0]!.finish_reason, "stop", `seed ${seed} did not finish`);
      checkPerson(JSON.parse(res.choices[0]!.message.content!));
    }
  });

  it("works with the SDK's .parse() and a zod schema", async () => {
    const Reply = z.object({
      title: z.string().max(6),
      score: z.number().int().min(1).max(9),
      flags: z.array(z.enum(["x", "y"])).max(2),
      note: z.string().max(4).nullable(),
    });
    for (const seed of [1, 2, 3]) {
      const res = await server.client.chat.completions.parse({
        model: "tiny",
        messages,
        seed,
        max_tokens: 300,
        response_format: zodResponseFormat(Reply, "reply"),
      });
      const parsed = res.choices[0]!.message.parsed;
      assert.ok(parsed, `seed ${seed}: no parsed value`);
      assert.ok(parsed.score >= 1 && parsed.score <= 9);
    }
  });

  it("streams the same JSON as the non-streaming response", async () => {
    const request = {
      model: "tiny",
      messages,
      seed: 9,
      max_tokens: 300,
      response_format: { type: "json_schema" as const, json_schema: { name: "person", schema: person, strict: true } },
    };
    const plain = await server.client.chat.completions.create(request);
    const final = await server.client.chat.completions.stream(request).finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, plain.choices[0]!.message.content);
  });

  it("constrains json_object to a JSON object", async () => {
    const res = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      seed: 2,
      max_tokens: 40,
      response_format: { type: "json_object" },
    });
    const text = res.choices[0]!.message.content!;
    assert.match(text, /^\s*\{/);
    if (res.choices[0]!.finish_reason === "stop") assert.equal(typeof JSON.parse(text), "object");
  });

  it("refuses a strict schema's keyword it cannot enforce, naming it (non-strict ones drop it)", async () => {
    await assert.rejects(
      server.client.chat.completions.create({
        model: "tiny",
        messages,
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", not: { required: ["a"] } }, strict: true },
        },
      }),
      (e: unknown) =>
        e instanceof OpenAI.BadRequestError &&
        /"not"/.test(e.message) &&
        e.param === "response_format.json_schema.schema",
    );
  });
});
