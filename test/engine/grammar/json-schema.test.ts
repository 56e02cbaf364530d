// The JSON Schema → GBNF converter against llama.cpp itself and ajv:
// - every grammar is parsed by llama.cpp (a malformed one throws in createGrammar);
// - hand-picked texts are accepted or rejected by the grammar exactly as expected, and ajv agrees;
// - the random tiny model, sampling at temperature 1 under each grammar, ends within the token cap
//   with one JSON value that ajv (with formats) accepts, for several seeds;
// - texts one edit away from those outputs that the grammar still accepts are valid too (the
//   grammar is never looser than the schema);
// - unsupported keywords fail by name and JSON path.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import {
  LlamaGrammarEvaluationState,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type Token,
} from "node-llama-cpp";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { z as z3 } from "zod/v3";
import {
  JSON_OBJECT_GBNF,
  jsonSchemaToGbnf,
  UnsupportedSchemaError,
  type JsonSchemaToGbnfOptions,
} from "../../../src/engine/grammar/json-schema-to-gbnf.js";
import { rng } from "../../helpers/rng.js";
import { useTinyModel } from "../../helpers/tiny-model.js";

const SEEDS = [1, 2, 3];
const TOKEN_CAP = 300;
const RECURSIVE_TOKEN_CAP = 800;

interface Case {
  name: string;
  schema: unknown;
  options?: JsonSchemaToGbnfOptions;
  /** Texts ajv accepts that the grammar must accept. */
  accept?: string[];
  /** Texts the grammar must reject: invalid ones, or valid ones in a spelling it never generates. */
  reject?: string[];
  /** Sample from the model under the grammar (default true). */
  generate?: boolean;
  /**
   * Recursive schemas: the random model grows a random tree (a branching process) whose size has
   * a long tail, and its seeded choices can differ on other CPUs; allow a longer generation.
   */
  tokenCap?: number;
}

const zodSchema = (schema: z.ZodType, name: string): Record<string, unknown> =>
  zodResponseFormat(schema, name).json_schema.schema as Record<string, unknown>;

const ZodTree: z.ZodType = z.object({
  label: z.string().max(3),
  get children() {
    return z.array(ZodTree).max(2);
  },
});

type V3Tree = { name: string; kids: V3Tree[] };
const V3Tree: z3.ZodType<V3Tree> = z3.lazy(() =>
  z3.object({ name: z3.string().max(2), kids: z3.array(V3Tree).max(1) }),
);
const V3Point = z3.object({ x: z3.number().int().min(0).max(9) });

const str = (maxLength: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "string",
  maxLength,
  ...extra,
});

const CASES: Case[] = [
  {
    name: "flat object, all required",
    schema: {
      type: "object",
      properties: { name: str(6), age: { type: "integer", minimum: 0, maximum: 120 }, active: { type: "boolean" } },
      required: ["name", "age", "active"],
      additionalProperties: false,
    },
    accept: ['{"name":"Al","age":120,"active":true}', '{ "name": "", "age": 0, "active": false }'],
    reject: [
      '{"name":"Al","age":121,"active":true}',
      '{"age":1,"name":"Al","active":true}',
      '{"name":"Al","age":1}',
      '{"name":"Al","age":01,"active":true}',
    ],
  },
  {
    name: "optional members interleaved with required ones, in schema order",
    schema: {
      type: "object",
      properties: {
        a: str(3),
        b: { type: "integer", minimum: 0, maximum: 9 },
        c: { type: "boolean" },
        d: { type: "null" },
      },
      required: ["b", "d"],
      additionalProperties: false,
    },
    accept: [
      '{"b":1,"d":null}',
      '{"a":"x","b":1,"c":true,"d":null}',
      '{"b":1,"c":false,"d":null}',
      '{"a":"","b":0,"d":null}',
    ],
    reject: ['{"a":"x","d":null}', '{"b":1}', '{"d":null,"b":1}', '{"b":1,"d":null,"e":1}', "{}"],
  },
  {
    name: "all members optional",
    schema: {
      type: "object",
      properties: { a: { type: "boolean" }, b: { type: "null" } },
      additionalProperties: false,
    },
    accept: ["{}", '{"a":true}', '{"b":null}', '{"a":false,"b":null}'],
    reject: ['{"b":null,"a":true}', '{"c":1}', '{"a":true,}', "{,}"],
  },
  {
    name: "nested objects",
    schema: {
      type: "object",
      properties: {
        outer: {
          type: "object",
          properties: {
            inner: {
              type: "object",
              properties: { leaf: { enum: [1, 2] } },
              required: ["leaf"],
              additionalProperties: false,
            },
          },
          required: ["inner"],
          additionalProperties: false,
        },
      },
      required: ["outer"],
      additionalProperties: false,
    },
    accept: ['{"outer":{"inner":{"leaf":2}}}', '{\n  "outer": {\n    "inner": {"leaf": 1}\n  }\n}'],
    reject: ['{"outer":{"inner":{}}}', '{"outer":{"inner":{"leaf":3}}}'],
  },
  {
    name: "anyOf of scalars",
    schema: { anyOf: [str(4), { type: "integer", minimum: -3, maximum: 3 }, { type: "null" }] },
    accept: ['"abcd"', "-3", "3", "null"],
    reject: ['"abcde"', "4", "true", "1.5"],
  },
  {
    name: "anyOf of objects discriminated by const",
    schema: {
      anyOf: [
        {
          type: "object",
          properties: { kind: { const: "circle" }, r: { type: "integer", minimum: 1, maximum: 9 } },
          required: ["kind", "r"],
          additionalProperties: false,
        },
        {
          type: "object",
          properties: { kind: { const: "square" }, side: { type: "boolean" } },
          required: ["kind", "side"],
          additionalProperties: false,
        },
      ],
    },
    accept: ['{"kind":"circle","r":3}', '{"kind":"square","side":true}'],
    reject: ['{"kind":"circle","side":true}', '{"kind":"tri","r":1}'],
  },
  {
    name: "oneOf with disjoint branches",
    schema: {
      oneOf: [
        str(3),
        { type: "boolean" },
        { type: "object", properties: { t: { const: "a" } }, required: ["t"], additionalProperties: false },
        {
          type: "object",
          properties: { t: { const: "b" }, n: { type: "null" } },
          required: ["t"],
          additionalProperties: false,
        },
      ],
    },
    accept: ['"ab"', "false", '{"t":"a"}', '{"t":"b","n":null}'],
    reject: ['{"t":"a","n":null}', "null"],
  },
  {
    name: "recursive $defs tree bounded by maxItems",
    tokenCap: RECURSIVE_TOKEN_CAP,
    schema: {
      $defs: {
        node: {
          type: "object",
          properties: {
            v: { type: "integer", minimum: 0, maximum: 99 },
            kids: { type: "array", items: { $ref: "#/$defs/node" }, maxItems: 2 },
          },
          required: ["v", "kids"],
          additionalProperties: false,
        },
      },
      $ref: "#/$defs/node",
    },
    accept: ['{"v":1,"kids":[]}', '{"v":1,"kids":[{"v":2,"kids":[{"v":3,"kids":[]}]},{"v":4,"kids":[]}]}'],
    reject: ['{"v":1,"kids":[{"v":2}]}', '{"v":1,"kids":[{"v":2,"kids":[]},{"v":2,"kids":[]},{"v":2,"kids":[]}]}'],
  },
  {
    name: "definitions (draft-7) reused twice, nullable through anyOf",
    schema: {
      type: "object",
      definitions: {
        point: {
          type: "object",
          properties: {
            x: { type: "integer", minimum: 0, maximum: 9 },
            y: { type: "integer", minimum: 0, maximum: 9 },
          },
          required: ["x", "y"],
          additionalProperties: false,
        },
      },
      properties: {
        from: { $ref: "#/definitions/point" },
        to: { anyOf: [{ $ref: "#/definitions/point" }, { type: "null" }] },
      },
      required: ["from", "to"],
      additionalProperties: false,
    },
    accept: ['{"from":{"x":1,"y":2},"to":null}', '{"from":{"x":1,"y":2},"to":{"x":0,"y":9}}'],
    reject: ['{"from":null,"to":null}', '{"from":{"x":1},"to":null}'],
  },
  {
    name: "recursion through the root (#)",
    tokenCap: RECURSIVE_TOKEN_CAP,
    schema: {
      type: "array",
      items: { anyOf: [{ type: "integer", minimum: 0, maximum: 9 }, { $ref: "#" }] },
      maxItems: 2,
    },
    accept: ["[]", "[1,[2,[]]]", "[[[[]]]]"],
    reject: ["[1,2,3]", "[[1,2,3]]", '["a"]'],
  },
  {
    name: "enum of mixed JSON values",
    schema: { enum: [1, "two", null, true, { x: [1, 2] }, [3]] },
    accept: ["1", '"two"', "null", "true", '{"x":[1,2]}', "[3]"],
    reject: ["2", '"three"', "false", '{"x":[2,1]}'],
  },
  {
    name: "const object",
    schema: {
      type: "object",
      properties: { v: { const: { a: [1, "b"] } } },
      required: ["v"],
      additionalProperties: false,
    },
    accept: ['{"v":{"a":[1,"b"]}}'],
    reject: ['{"v":{"a":[1]}}', '{"v":{"a":[1,"c"]}}'],
  },
  {
    name: "array with minItems and maxItems",
    schema: { type: "array", items: { type: "integer", minimum: 0, maximum: 9 }, minItems: 2, maxItems: 4 },
    accept: ["[1,2]", "[1,2,3,4]", "[ 1, 2 ]"],
    reject: ["[1]", "[1,2,3,4,5]", "[]", "[1,,2]", "[1,2,]"],
  },
  {
    name: "tuple with prefixItems and no further items",
    schema: {
      type: "array",
      prefixItems: [str(3), { type: "integer", minimum: 0, maximum: 5 }, { type: "boolean" }],
      items: false,
      minItems: 2,
    },
    accept: ['["a",1]', '["abc",5,true]'],
    reject: ['["a"]', '["a",1,true,null]', "[1,1]"],
  },
  {
    name: "prefixItems followed by bounded rest items",
    schema: { type: "array", prefixItems: [{ type: "boolean" }], items: { type: "null" }, maxItems: 4 },
    accept: ["[]", "[true]", "[false,null,null,null]"],
    reject: ["[null]", "[true,true]", "[true,null,null,null,null]"],
  },
  {
    name: "format date",
    schema: { type: "string", format: "date" },
    accept: ['"2024-02-29"', '"2000-02-29"', '"1999-12-31"'],
    reject: ['"2023-02-29"', '"1900-02-29"', '"2024-13-01"', '"2024-04-31"', '"24-01-01"'],
  },
  {
    name: "format time",
    schema: { type: "string", format: "time" },
    accept: ['"23:59:59Z"', '"00:00:00.123+05:30"'],
    reject: ['"24:00:00Z"', '"12:00:00"', '"12:60:00Z"'],
  },
  {
    name: "format date-time",
    schema: { type: "string", format: "date-time" },
    accept: ['"2024-01-31T12:00:00Z"', '"2024-01-31T12:00:00.5-01:00"'],
    reject: ['"2024-01-31 12:00:00Z"', '"2024-01-32T12:00:00Z"'],
  },
  {
    name: "format uuid",
    schema: { type: "string", format: "uuid" },
    accept: ['"123e4567-e89b-12d3-a456-426614174000"', '"123E4567-E89B-12D3-A456-426614174000"'],
    reject: ['"123e4567e89b12d3a456426614174000"', '"123e4567-e89b-12d3-a456-42661417400g"'],
  },
  {
    name: "pattern with classes, escapes and counted repetition",
    schema: { type: "string", pattern: "^[A-Z]{2}-\\d{3}(\\.[a-z_]\\w?)?$" },
    accept: ['"AB-123"', '"ZZ-000.a"', '"QQ-999._9"'],
    reject: ['"Ab-123"', '"AB-12"', '"AB-1234"', '"AB-123."'],
  },
  {
    name: "pattern with groups, alternation and + under maxLength",
    schema: { type: "string", pattern: "^(foo|ba(r|z))+$", maxLength: 9 },
    accept: ['"foo"', '"barbazfoo"'],
    reject: ['"foobarbazx"', '"fo"', '""', '"foobarbazbar"'],
  },
  {
    name: "unanchored pattern (search semantics) with length bounds",
    schema: { type: "string", pattern: "q\\s?z", minLength: 3, maxLength: 6 },
    accept: ['"qz1"', '"aa q z"', '"xxxqz"'],
    reject: ['"qz"', '"abcdef"', '"qzqzqzq"'],
  },
  {
    name: "pattern intersected with minLength and maxLength",
    schema: { type: "string", pattern: "^[a-z]+$", minLength: 2, maxLength: 5 },
    accept: ['"ab"', '"abcde"'],
    reject: ['"a"', '"abcdef"', '"ab1"'],
  },
  {
    name: "exact length",
    schema: { type: "string", minLength: 3, maxLength: 3 },
    accept: ['"abc"', '"a\\nb"', '"\\u0000\\"\\\\"', '"日本語"'],
    reject: ['"ab"', '"abcd"', '"a\\qb"', '"a\u0001b"'],
  },
  {
    name: "negative integer range",
    schema: { type: "integer", minimum: -50, maximum: -3 },
    accept: ["-50", "-3", "-19"],
    reject: ["-51", "-2", "0", "3", "-03"],
  },
  {
    name: "integer with exclusive bounds",
    schema: { type: "integer", exclusiveMinimum: 0, exclusiveMaximum: 10 },
    accept: ["1", "9"],
    reject: ["0", "10", "-1", "5.0"],
  },
  {
    name: "large integer range (zod's int)",
    schema: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
    accept: ["9007199254740991", "-9007199254740991", "0", "42"],
    reject: ["9007199254740992", "-9007199254740992"],
  },
  {
    name: "number between 0 and 1 inclusive",
    schema: { type: "number", minimum: 0, maximum: 1 },
    accept: ["0", "1", "0.25", "1.000", "0.0"],
    reject: ["1.01", "-0.5", "2", "1e0"],
  },
  {
    name: "number strictly between -1 and 1",
    schema: { type: "number", exclusiveMinimum: -1, exclusiveMaximum: 1 },
    accept: ["0", "-0.999", "0.5"],
    reject: ["1", "-1", "1.0", "-1.0"],
  },
  {
    name: "number bounds beyond 1e16 that exclude nothing (zod's float32)",
    schema: { type: "number", minimum: -3.4028234663852886e38, maximum: 3.4028234663852886e38 },
    accept: ["1.5", "-12", "9999999999999999"],
    reject: ["1e5", "10000000000000000"],
  },
  {
    name: "additionalProperties with a schema after listed members",
    schema: {
      type: "object",
      properties: { id: { type: "integer", minimum: 0, maximum: 9 } },
      required: ["id"],
      additionalProperties: { type: "boolean" },
    },
    options: { maxStringLength: 3 },
    accept: ['{"id":1}', '{"id":1,"x":true,"yy":false}'],
    reject: ['{"id":1,"id":true}', '{"id":1,"x":1}', '{"x":true,"id":1}'],
  },
  {
    name: "additionalProperties absent beside properties: no other members are generated",
    schema: { type: "object", properties: { n: { type: "null" }, m: { type: "boolean" } }, required: ["n"] },
    options: { maxStringLength: 2 },
    accept: ['{"n":null}', '{"n":null,"m":true}'],
    reject: ['{"n":null,"a":1}', '{"n":null,"m":true,"a":[1,{"b":"c"}]}', '{"n":null,"n":1}', '{"a":1}'],
  },
  {
    name: "additionalProperties true: extra members, names, values and count bounded by the caps",
    schema: { type: "object", properties: { n: { type: "null" } }, required: ["n"], additionalProperties: true },
    options: { maxStringLength: 2, maxAdditionalProperties: 2 },
    accept: ['{"n":null}', '{"n":null,"a":[1,{"b":"c"}]}', '{"n":null,"a":1,"bb":{"x":1,"y":2}}'],
    reject: [
      '{"n":null,"a":1,"b":2,"c":3}',
      '{"n":null,"abc":1}',
      '{"n":null,"a":"abc"}',
      '{"n":null,"a":{"x":1,"y":2,"z":3}}',
    ],
  },
  {
    name: "without properties, required names only: any other members (as {type: object})",
    schema: { type: "object", required: ["id"] },
    options: { maxStringLength: 2, maxAdditionalProperties: 3 },
    accept: ['{"id":1}', '{"id":"a","x":null}'],
    reject: ["{}", '{"x":null}'],
  },
  {
    name: "allOf of objects without additionalProperties: the listed members of both, no others",
    schema: {
      allOf: [
        { type: "object", properties: { a: { type: "integer", minimum: 0, maximum: 5 } }, required: ["a"] },
        { type: "object", properties: { b: { type: "boolean" } }, required: ["b"] },
      ],
    },
    accept: ['{"a":3,"b":true}'],
    reject: ['{"a":3,"b":true,"c":1}', '{"a":3}', '{"b":true}'],
  },
  {
    name: "type array with null",
    schema: { type: ["string", "null"], maxLength: 4 },
    accept: ['"abcd"', "null"],
    reject: ['"abcde"', "0"],
  },
  {
    name: "type array with integer and boolean",
    schema: { type: ["integer", "boolean"], minimum: 5, maximum: 7 },
    accept: ["5", "7", "true"],
    reject: ["4", "8", "null", "5.5"],
  },
  {
    name: "allOf merging object properties and required",
    schema: {
      allOf: [
        { type: "object", properties: { a: { type: "integer", minimum: 0, maximum: 5 } }, required: ["a"] },
        {
          type: "object",
          properties: { b: { type: "boolean" }, a: { type: "integer", minimum: 3 } },
          required: ["b"],
          additionalProperties: false,
        },
      ],
    },
    accept: ['{"a":3,"b":true}', '{"a":5,"b":false}'],
    reject: ['{"a":2,"b":true}', '{"a":3}', '{"a":3,"b":true,"c":1}'],
  },
  {
    name: "empty schema: any JSON value under a string cap",
    schema: {},
    options: { maxStringLength: 2 },
    accept: ["1", '"ab"', '{"a":[null,true,-1.5e3]}', "[]"],
    reject: ["", "nul", "[1,]", "01", '"abc"'],
  },
  {
    name: "zod (openai helper): object with bounded fields, enum, number range, date",
    schema: zodSchema(
      z.object({
        name: z.string().max(6),
        tags: z.array(z.enum(["a", "b", "c"])).max(3),
        score: z.number().min(0).max(10),
        when: z.iso.date(),
      }),
      "record",
    ),
    accept: ['{"name":"x","tags":["a","c"],"score":9.5,"when":"2024-02-29"}'],
    reject: [
      '{"name":"x","tags":["d"],"score":9.5,"when":"2024-02-29"}',
      '{"name":"x","tags":[],"score":10.5,"when":"2024-02-29"}',
    ],
  },
  {
    name: "zod (openai helper): nullable members",
    schema: zodSchema(
      z.object({
        a: z.string().max(4).nullable(),
        b: z.int().min(1).max(5).nullable(),
        c: z.object({ d: z.boolean() }).nullable(),
      }),
      "nullable",
    ),
    accept: ['{"a":null,"b":null,"c":null}', '{"a":"x","b":3,"c":{"d":true}}'],
    reject: ['{"a":null,"b":0,"c":null}', '{"a":null,"c":null}'],
  },
  {
    name: "zod (openai helper): discriminated union",
    schema: zodSchema(
      z.object({
        shape: z.discriminatedUnion("kind", [
          z.object({ kind: z.literal("dot") }),
          z.object({ kind: z.literal("line"), length: z.int().min(0).max(99) }),
        ]),
      }),
      "shape",
    ),
    accept: ['{"shape":{"kind":"dot"}}', '{"shape":{"kind":"line","length":7}}'],
    reject: ['{"shape":{"kind":"line"}}', '{"shape":{"kind":"dot","length":1}}'],
  },
  {
    name: "zod (openai helper): recursive tree",
    tokenCap: RECURSIVE_TOKEN_CAP,
    schema: zodSchema(ZodTree, "tree"),
    accept: ['{"label":"a","children":[{"label":"b","children":[]}]}'],
    reject: ['{"label":"abcd","children":[]}'],
  },
  {
    name: "zod (openai helper): uuid and datetime (format intersected with zod's pattern)",
    schema: zodSchema(z.object({ id: z.uuid(), at: z.iso.datetime() }), "ids"),
    accept: ['{"id":"123e4567-e89b-42d3-a456-426614174000","at":"2024-02-29T23:59:59.123Z"}'],
    reject: [
      '{"id":"123e4567-e89b-02d3-a456-426614174000","at":"2024-02-29T23:59:59Z"}',
      '{"id":"123e4567-e89b-42d3-a456-426614174000","at":"2024-02-29T23:59:59+01:00"}',
    ],
  },
  {
    name: "zod v3 (openai helper's zod-to-json-schema path): definitions, lazy recursion, optional",
    tokenCap: RECURSIVE_TOKEN_CAP,
    schema: zodResponseFormat(
      z3.object({ a: z3.string().max(3).optional().nullable(), tree: V3Tree, p: V3Point, q: V3Point.nullable() }),
      "v3",
    ).json_schema.schema,
    accept: [
      '{"a":null,"tree":{"name":"x","kids":[]},"p":{"x":1},"q":null}',
      '{"a":"","tree":{"name":"x","kids":[{"name":"","kids":[]}]},"p":{"x":1},"q":{"x":0}}',
    ],
    reject: [
      '{"tree":{"name":"x","kids":[]},"p":{"x":1},"q":null}',
      '{"a":null,"tree":{"name":"x","kids":[]},"p":{"x":10},"q":null}',
    ],
  },
  {
    name: "root array of objects",
    schema: {
      type: "array",
      items: {
        type: "object",
        properties: { k: { type: "string", enum: ["x", "y"] } },
        required: ["k"],
        additionalProperties: false,
      },
      maxItems: 3,
    },
    accept: ["[]", '[{"k":"x"},{"k":"y"}]'],
    reject: ['[{"k":"z"}]', '[{"k":"x"},{"k":"x"},{"k":"x"},{"k":"x"}]'],
  },
  {
    name: "root scalar: boolean",
    schema: { type: "boolean" },
    accept: ["true", "false"],
    reject: ["True", "1", " true", "true "],
  },
  // Checked by acceptance only: long or unbounded values a random model would not close.
  {
    name: "maxLength above llama.cpp's repetition limit",
    schema: { type: "string", maxLength: 2500 },
    accept: [`"${"a".repeat(2500)}"`, '""'],
    reject: [`"${"a".repeat(2501)}"`],
    generate: false,
  },
  {
    name: "minLength above llama.cpp's repetition limit",
    schema: { type: "array", items: { type: "integer", minimum: 0, maximum: 0 }, minItems: 2100, maxItems: 2101 },
    accept: [`[${Array(2100).fill(0).join(",")}]`, `[${Array(2101).fill(0).join(",")}]`],
    reject: [`[${Array(2099).fill(0).join(",")}]`, `[${Array(2102).fill(0).join(",")}]`],
    generate: false,
  },
  {
    name: "unbounded string and number",
    schema: {
      type: "object",
      properties: { s: { type: "string" }, n: { type: "number" } },
      required: ["s", "n"],
      additionalProperties: false,
    },
    accept: ['{"s":"any text \\u001f \\t é 😀","n":-12.5e-3}', '{"s":"","n":0}'],
    reject: ['{"s":"\\/","n":0}', '{"s":"","n":1e999}', '{"s":"","n":.5}', '{"s":"","n":NaN}'],
    generate: false,
  },
  {
    name: "any JSON object (json_object mode)",
    schema: { type: "object" },
    accept: ["{}", '{"a":[1,{"b":null}],"c":"d"}'],
    reject: ["[]", "1", '{"a":}', "{} {}"],
    generate: false,
  },
];

const tiny = useTinyModel();
let context: LlamaContext;
let sequence: LlamaContextSequence;
let prompt: Token[];
const ajv = new Ajv2020({ strict: false, allErrors: true });
formats.default(ajv);

before(async () => {
  await tiny.loaded;
  context = await tiny.model.createContext({ sequences: 1, contextSize: 512, batchSize: 64, threads: 1 });
  sequence = context.getSequence();
  prompt = tiny.model.tokenize("JSON:");
});
after(async () => {
  await context?.dispose();
});

/** node-llama-cpp's AddonGrammar.isTextCompatible: does the grammar accept exactly this text? */
function accepts(grammar: LlamaGrammar, text: string): boolean {
  return (grammar as unknown as { _grammar: { isTextCompatible(t: string): boolean } })._grammar.isTextCompatible(text);
}

function ajvValidator(schema: unknown): (text: string) => boolean {
  // ajv's 2020-12 build does not load the draft-07 meta-schema that zod's output names.
  const { $schema: _, ...rest } = schema as Record<string, unknown>;
  const validate = ajv.compile(rest);
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return false;
    }
    return validate(value);
  };
}

async function generate(
  grammar: LlamaGrammar,
  seed: number,
  cap: number,
): Promise<{ text: string; tokens: number; finished: boolean }> {
  await sequence.clearHistory();
  const grammarEvaluationState = new LlamaGrammarEvaluationState({ model: tiny.model, grammar });
  const tokens: Token[] = [];
  let finished = true;
  for await (const token of sequence.evaluate(prompt, { temperature: 1, seed, grammarEvaluationState })) {
    tokens.push(token);
    if (tokens.length >= cap) {
      finished = false;
      break;
    }
  }
  return { text: tiny.model.detokenize(tokens), tokens: tokens.length, finished };
}

const MUTATION_CHARS = [...'{}[],:"0123456789-.eaZ \n\\'];

function mutations(text: string, count: number, seed: number): string[] {
  const random = rng(seed);
  const chars = [...text];
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const copy = [...chars];
    const at = Math.floor(random() * (copy.length + 1));
    const c = MUTATION_CHARS[Math.floor(random() * MUTATION_CHARS.length)]!;
    const kind = Math.floor(random() * 3);
    if (kind === 0) copy.splice(at, 1);
    else if (kind === 1) copy.splice(at, 0, c);
    else copy.splice(at, 1, c);
    out.push(copy.join(""));
  }
  return out;
}

const stats = { generations: 0, finished: 0, tokens: 0, ms: 0, mutantsAccepted: 0, longest: 0, longestCase: "" };

describe("jsonSchemaToGbnf: grammars checked by llama.cpp and ajv", () => {
  it(`has at least 30 schemas that the model samples from`, () => {
    assert.ok(CASES.filter((c) => c.generate !== false).length >= 30);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const gbnf = jsonSchemaToGbnf(c.schema, c.options);
      const grammar = await tiny.llama.createGrammar({ grammar: gbnf });
      const valid = ajvValidator(c.schema);
      for (const text of c.accept ?? []) {
        assert.ok(valid(text), `test data: ajv should accept ${text.slice(0, 80)}`);
        assert.ok(accepts(grammar, text), `grammar should accept ${text.slice(0, 80)}\n${gbnf}`);
      }
      for (const text of c.reject ?? []) {
        assert.ok(!accepts(grammar, text), `grammar should reject ${text.slice(0, 80)}\n${gbnf}`);
      }
      if (c.generate === false) return;
      for (const seed of SEEDS) {
        const started = performance.now();
        const cap = c.tokenCap ?? TOKEN_CAP;
        const out = await generate(grammar, seed, cap);
        stats.ms += performance.now() - started;
        stats.generations++;
        stats.tokens += out.tokens;
        if (process.env.GRAMMAR_TEST_VERBOSE)
          console.log(`${c.name} / seed ${seed}: ${out.tokens} tokens ${JSON.stringify(out.text)}`);
        if (out.tokens > stats.longest)
          Object.assign(stats, { longest: out.tokens, longestCase: `${c.name}, seed ${seed}` });
        assert.ok(
          out.finished,
          `seed ${seed}: no end of generation within ${cap} tokens: ${JSON.stringify(out.text.slice(0, 200))}`,
        );
        stats.finished++;
        assert.ok(valid(out.text), `seed ${seed}: ajv rejects ${JSON.stringify(out.text)}: ${ajv.errorsText()}`);
        assert.ok(
          accepts(grammar, out.text),
          `seed ${seed}: the grammar does not accept its own output ${JSON.stringify(out.text)}`,
        );
        for (const mutant of mutations(out.text, 8, seed))
          if (accepts(grammar, mutant)) {
            stats.mutantsAccepted++;
            assert.ok(valid(mutant), `grammar accepts an invalid text ${JSON.stringify(mutant)}`);
          }
      }
    });
  }

  it("every generation ended with a valid value within the token cap", () => {
    const expected = CASES.filter((c) => c.generate !== false).length * SEEDS.length;
    console.log(
      `grammar generations: ${stats.finished}/${stats.generations} finished (expected ${expected}), ` +
        `${stats.tokens} tokens in ${(stats.ms / 1000).toFixed(1)} s (longest ${stats.longest}: ${stats.longestCase}), ` +
        `${stats.mutantsAccepted} accepted mutants all valid`,
    );
    assert.equal(stats.finished, expected);
  });

  it("integer and number bounds agree with arithmetic", async () => {
    type B = { min?: number; max?: number; xmin?: number; xmax?: number };
    const inRange = (v: number, b: B): boolean =>
      (b.min === undefined || v >= b.min) &&
      (b.max === undefined || v <= b.max) &&
      (b.xmin === undefined || v > b.xmin) &&
      (b.xmax === undefined || v < b.xmax);
    const schemaOf = (type: string, b: B): Record<string, unknown> => ({
      type,
      ...(b.min !== undefined && { minimum: b.min }),
      ...(b.max !== undefined && { maximum: b.max }),
      ...(b.xmin !== undefined && { exclusiveMinimum: b.xmin }),
      ...(b.xmax !== undefined && { exclusiveMaximum: b.xmax }),
    });
    const near = (points: number[]): number[] => [
      ...new Set(points.flatMap((p) => Array.from({ length: 41 }, (_, k) => p - 20 + k))),
    ];
    const integerRanges: B[] = [
      { min: 0, max: 0 },
      { min: 7, max: 7 },
      { min: -7, max: 13 },
      { min: 5, max: 123 },
      { min: 99, max: 1000 },
      { min: -1000, max: -99 },
      { min: 123 },
      { max: -5 },
      { xmin: -10, xmax: 10 },
      { min: 1.5, max: 9.5 },
      { min: 999_999_990, max: 1_000_000_010 },
      { min: -123_456_789_012, max: 98_765_432_109 },
    ];
    let checked = 0;
    for (const b of integerRanges) {
      const grammar = await tiny.llama.createGrammar({ grammar: jsonSchemaToGbnf(schemaOf("integer", b)) });
      const points = near([0, 1000, 99, 123, ...Object.values(b)].map(Math.round));
      for (const v of points) {
        assert.equal(accepts(grammar, String(v)), Number.isInteger(v) && inRange(v, b), `${JSON.stringify(b)}: ${v}`);
        checked++;
      }
    }
    const numberRanges: B[] = [
      { min: 0, max: 1 },
      { xmin: 0, xmax: 1 },
      { min: -2, xmax: 3 },
      { xmin: -5, max: -1 },
      { min: 10 },
      { xmax: 0 },
      { min: 0, max: 0 },
    ];
    for (const b of numberRanges) {
      const grammar = await tiny.llama.createGrammar({ grammar: jsonSchemaToGbnf(schemaOf("number", b)) });
      const texts = near([0, 1, 3, 10, -1, -5]).flatMap((i) =>
        [0, 0.001, 0.25, 0.5, 0.999].map((f) => (i + f === 0 ? "0" : (i + f).toFixed(3).replace(/\.?0+$/, ""))),
      );
      for (const text of [...texts, "0.000", "1.000", "3.0", "-1.0", "-5.0", "10.00"]) {
        assert.equal(accepts(grammar, text), inRange(Number(text), b), `${JSON.stringify(b)}: ${text}`);
        checked++;
      }
    }
    assert.ok(checked > 2000);
  });

  it("draft-7 tuples (items as an array, additionalItems)", async () => {
    const grammar = await tiny.llama.createGrammar({
      grammar: jsonSchemaToGbnf({
        type: "array",
        items: [{ type: "boolean" }, { type: "null" }],
        additionalItems: { const: 0 },
        maxItems: 3,
      }),
    });
    for (const text of ["[]", "[true]", "[false,null]", "[true,null,0]"]) assert.ok(accepts(grammar, text), text);
    for (const text of ["[null]", "[true,null,1]", "[true,null,0,0]", "[true,0]"])
      assert.ok(!accepts(grammar, text), text);
  });

  it("JSON_OBJECT_GBNF is any JSON object", async () => {
    const grammar = await tiny.llama.createGrammar({ grammar: JSON_OBJECT_GBNF });
    for (const text of ["{}", '{"a":1}', '{ "a": [true, {"b": null}] }']) assert.ok(accepts(grammar, text), text);
    for (const text of ["[]", "1", '"{}"', "{}{}", " {}"]) assert.ok(!accepts(grammar, text), text);
  });

  it("ignores annotations", () => {
    const annotated = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: "https://example.com/s",
      title: "t",
      description: "d",
      $comment: "c",
      default: 1,
      examples: [1],
      strict: true,
      readOnly: true,
      deprecated: false,
      type: "integer",
    };
    assert.equal(jsonSchemaToGbnf(annotated), jsonSchemaToGbnf({ type: "integer" }));
  });
});

describe("jsonSchemaToGbnf: what it refuses", () => {
  const refusals: [keyword: string, path: string, schema: unknown, options?: JsonSchemaToGbnfOptions][] = [
    ["not", "#/properties/a", { type: "object", properties: { a: { not: { type: "string" } } } }],
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords
    ["if", "#", { if: { type: "string" }, then: { maxLength: 2 } }],
    ["dependentRequired", "#", { type: "object", dependentRequired: { a: ["b"] } }],
    ["patternProperties", "#", { type: "object", patternProperties: { "^x": { type: "string" } } }],
    [
      "uniqueItems",
      "#/properties/list",
      { type: "object", properties: { list: { type: "array", uniqueItems: true } } },
    ],
    ["contains", "#", { type: "array", contains: { type: "null" } }],
    ["multipleOf", "#/items", { type: "array", items: { type: "integer", multipleOf: 5 } }],
    ["minProperties", "#", { type: "object", minProperties: 1 }],
    ["maxProperties", "#", { type: "object", maxProperties: 1 }],
    ["propertyNames", "#", { type: "object", propertyNames: { maxLength: 3 } }],
    ["unevaluatedProperties", "#", { type: "object", unevaluatedProperties: false }],
    ["nullable", "#/properties/a", { type: "object", properties: { a: { type: "string", nullable: true } } }],
    [
      "format",
      "#/properties/list/items/properties/mail",
      {
        type: "object",
        properties: {
          list: { type: "array", items: { type: "object", properties: { mail: { type: "string", format: "email" } } } },
        },
      },
    ],
    ["pattern", "#", { type: "string", pattern: "^(?=a)" }],
    ["pattern", "#", { type: "string", pattern: "(a)\\1" }],
    ["pattern", "#", { type: "string", pattern: "\\bword" }],
    ["pattern", "#", { type: "string", pattern: "^\\p{L}+$" }],
    ["pattern", "#", { type: "string", pattern: "^[a-z" }],
    ["minimum", "#", { type: "number", minimum: 0.5 }],
    ["exclusiveMaximum", "#", { type: "number", exclusiveMaximum: 2.25 }],
    ["minimum", "#", { type: "number", minimum: 1e20 }],
    ["oneOf", "#", { oneOf: [{ type: "integer" }, { type: "number" }] }],
    ["oneOf", "#", { oneOf: [{ type: "object", properties: { a: { type: "string" } } }, { type: "object" }] }],
    ["$ref", "#", { $ref: "https://example.com/schema.json" }],
    ["$ref", "#/properties/a", { type: "object", properties: { a: { $ref: "#/$defs/missing" } } }],
    ["$ref", "#/$defs/a", { $defs: { a: { anyOf: [{ $ref: "#/$defs/a" }, { type: "string" }] } }, $ref: "#/$defs/a" }],
    [
      "$ref",
      "#/$defs/a",
      {
        $defs: {
          a: {
            type: "object",
            properties: { next: { $ref: "#/$defs/a" } },
            required: ["next"],
            additionalProperties: false,
          },
        },
        $ref: "#/$defs/a",
      },
    ],
    ["minLength", "#", { type: "string", minLength: 5, maxLength: 2 }],
    ["enum", "#", { type: "string", enum: [1, 2] }],
    ["pattern", "#", { type: "string", pattern: "^a+$", maxLength: 0, minLength: 0 }],
    ["type", "#", { type: "text" }],
    ["required", "#", { type: "object", required: "a" }],
    [
      "additionalProperties",
      "#",
      { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
      { strict: true },
    ],
    [
      "required",
      "#",
      { type: "object", properties: { a: { type: "string" } }, additionalProperties: false },
      { strict: true },
    ],
    ["type", "#", { type: "array", items: { type: "string" } }, { strict: true }],
    ["format", "#/properties/mail", zodSchema(z.object({ mail: z.email() }), "mail")],
  ];
  for (const [keyword, path, schema, options] of refusals) {
    it(`refuses ${keyword} at ${path}: ${JSON.stringify(schema).slice(0, 90)}`, () => {
      assert.throws(
        () => jsonSchemaToGbnf(schema, options),
        (e: unknown) => {
          assert.ok(e instanceof UnsupportedSchemaError, String(e));
          assert.equal(e.keyword, keyword, e.message);
          assert.equal(e.path, path, e.message);
          assert.ok(e.message.includes(keyword) && e.message.includes(path), e.message);
          return true;
        },
      );
    });
  }

  it("accepts what strict mode allows, as the openai SDK's zod helper emits it", () => {
    const schema = zodSchema(z.object({ a: z.string(), b: z.array(z.object({ c: z.int().nullable() })) }), "s");
    assert.doesNotThrow(() => jsonSchemaToGbnf(schema, { strict: true }));
  });
});
