// unsupported: "drop" (non-strict schemas): a keyword the converter cannot enforce is skipped, the
// rest of the schema is still enforced, and onDrop names each dropped keyword; strict schemas are
// refused as before. Grammars are checked by llama.cpp's own matcher (no model needed).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaGrammar } from "node-llama-cpp";
import {
  jsonSchemaToGbnf,
  UnsupportedSchemaError,
  type JsonSchemaToGbnfOptions,
} from "../../../src/engine/grammar/json-schema-to-gbnf.js";

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});
after(async () => {
  await llama?.dispose();
});

function accepts(grammar: LlamaGrammar, text: string): boolean {
  return (grammar as unknown as { _grammar: { isTextCompatible(t: string): boolean } })._grammar.isTextCompatible(text);
}

/** The grammar in drop mode, and the keywords it dropped as "keyword@path". */
async function dropping(
  schema: unknown,
  options: JsonSchemaToGbnfOptions = {},
): Promise<{ grammar: LlamaGrammar; dropped: string[] }> {
  const dropped: string[] = [];
  const gbnf = jsonSchemaToGbnf(schema, {
    ...options,
    unsupported: "drop",
    onDrop: (e) => dropped.push(`${e.keyword}@${e.path}`),
  });
  return { grammar: await llama.createGrammar({ grammar: gbnf }), dropped };
}

interface DropCase {
  name: string;
  schema: unknown;
  dropped: string[];
  accept: string[];
  reject: string[];
}

const CASES: DropCase[] = [
  {
    name: "unknown keywords are skipped; properties, required and the closed object still hold",
    schema: {
      type: "object",
      properties: {
        city: { type: "string", maxLength: 5, not: { const: "x" } },
        tags: { type: "array", items: { type: "string", maxLength: 2 }, uniqueItems: true, maxItems: 2 },
      },
      required: ["city"],
      minProperties: 1,
      "x-extension": true,
    },
    dropped: ["minProperties@#", "x-extension@#", "not@#/properties/city", "uniqueItems@#/properties/tags"],
    accept: ['{"city":"x"}', '{"city":"Paris","tags":["a","a"]}'],
    reject: ["{}", '{"tags":[]}', '{"city":"Lisbon"}', '{"city":"a","other":1}', '{"city":"a","tags":["a","b","c"]}'],
  },
  {
    name: "an unsupported format: the string is just a string, its other constraints kept",
    schema: { type: "object", properties: { mail: { type: "string", format: "email", maxLength: 4 } } },
    dropped: ["format@#/properties/mail"],
    accept: ['{"mail":"abcd"}', "{}"],
    reject: ['{"mail":"abcde"}', '{"mail":1}'],
  },
  {
    name: "format on a non-string type (OpenAPI's int32) is dropped, the type kept",
    schema: { type: "integer", format: "int32", minimum: 0, maximum: 9 },
    dropped: ["format@#"],
    accept: ["0", "9"],
    reject: ["10", "-1", '"1"'],
  },
  {
    name: "an unsupported pattern is dropped; a supported one beside it in allOf is kept",
    schema: {
      allOf: [
        { type: "string", pattern: "(?=a)", maxLength: 3 },
        { type: "string", pattern: "^[a-c]+$" },
      ],
    },
    dropped: ["pattern@#/allOf/0"],
    accept: ['"abc"', '"b"'],
    reject: ['"abcd"', '"x"', '""'],
  },
  {
    name: "fractional bounds on a number are rounded inward; a bound beyond 2^53 is dropped",
    schema: {
      type: "object",
      properties: {
        r: { type: "number", minimum: 0.5, exclusiveMaximum: 2.5 },
        big: { type: "number", minimum: 1e20 },
      },
      required: ["r", "big"],
    },
    dropped: ["minimum@#/properties/r", "exclusiveMaximum@#/properties/r", "minimum@#/properties/big"],
    accept: ['{"r":1,"big":-3}', '{"r":2,"big":1.5e3}', '{"r":1.75,"big":0}'],
    reject: ['{"r":0.75,"big":0}', '{"r":2.25,"big":0}', '{"r":3,"big":0}'],
  },
  {
    name: "fractional bounds with no whole number between them are dropped",
    schema: { type: "number", minimum: 0.2, maximum: 0.8 },
    dropped: ["minimum@#", "maximum@#"],
    accept: ["0.5", "7"],
    reject: ['"0.5"'],
  },
  {
    name: "oneOf whose branches overlap is enforced as anyOf",
    schema: {
      oneOf: [
        { type: "integer", minimum: 0, maximum: 3 },
        { type: "number", minimum: 2, maximum: 5 },
      ],
    },
    dropped: ["oneOf@#"],
    accept: ["1", "2", "4.5"],
    reject: ["6", "-1"],
  },
  {
    name: "a non-local $ref is dropped: its siblings still apply",
    schema: { type: "object", properties: { a: { $ref: "https://example.com/a.json", type: "string", maxLength: 2 } } },
    dropped: ["$ref@#/properties/a"],
    accept: ['{"a":"xy"}'],
    reject: ['{"a":"xyz"}', '{"a":1}'],
  },
  {
    name: "OpenAPI nullable is dropped (null is then not generated: narrower)",
    schema: { type: "string", nullable: true, maxLength: 3 },
    dropped: ["nullable@#"],
    accept: ['"abc"'],
    reject: ["null"],
  },
  {
    name: "patternProperties is dropped: with properties and no additionalProperties, no other member",
    schema: {
      type: "object",
      properties: { a: { type: "boolean" } },
      patternProperties: { "^x-": { type: "string" } },
      required: ["a"],
    },
    dropped: ["patternProperties@#"],
    accept: ['{"a":true}'],
    reject: ['{"a":true,"x-b":"c"}', "{}"],
  },
  {
    name: "malformed keywords are dropped like unsupported ones",
    schema: {
      type: "object",
      properties: { a: { type: "text" }, b: { type: "integer", minimum: "1" } },
      required: "a",
    },
    dropped: ["type@#/properties/a", "minimum@#/properties/b", "required@#"],
    accept: ["{}", '{"a":[1],"b":-4}'],
    reject: ['{"b":"1"}', '{"c":1}'],
  },
];

describe("jsonSchemaToGbnf with unsupported: drop", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      assert.throws(() => jsonSchemaToGbnf(c.schema), UnsupportedSchemaError, "refused by default");
      const { grammar, dropped } = await dropping(c.schema);
      assert.deepEqual(dropped.sort(), [...c.dropped].sort());
      for (const text of c.accept) assert.ok(accepts(grammar, text), `should accept ${text}`);
      for (const text of c.reject) assert.ok(!accepts(grammar, text), `should reject ${text}`);
    });
  }

  it("a schema without anything to drop gives the same grammar as the default", () => {
    const schema = { type: "object", properties: { a: { type: "string", format: "date" } }, required: ["a"] };
    assert.equal(jsonSchemaToGbnf(schema, { unsupported: "drop" }), jsonSchemaToGbnf(schema));
  });

  it("a schema no value satisfies is still refused (nothing to drop would mend it)", () => {
    assert.throws(
      () => jsonSchemaToGbnf({ type: "string", minLength: 5, maxLength: 2 }, { unsupported: "drop" }),
      (e: unknown) => e instanceof UnsupportedSchemaError && e.keyword === "minLength",
    );
  });

  it("strict schemas are refused, naming the keyword, whatever unsupported says", () => {
    const schema = {
      type: "object",
      properties: { mail: { type: "string", format: "email" } },
      required: ["mail"],
      additionalProperties: false,
    };
    for (const options of [{ strict: true }, { strict: true, unsupported: "drop" as const }])
      assert.throws(
        () => jsonSchemaToGbnf(schema, options),
        (e: unknown) => e instanceof UnsupportedSchemaError && e.keyword === "format" && e.path === "#/properties/mail",
      );
  });
});
