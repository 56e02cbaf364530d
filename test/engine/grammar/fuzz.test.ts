// Random schemas against random JSON texts: whatever a grammar accepts, ajv must accept too (the
// grammar is never looser than its schema), every grammar must parse in llama.cpp, and the
// converter must either succeed or refuse with UnsupportedSchemaError. No model needed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import { getLlama, LlamaLogLevel, type Llama, type LlamaGrammar } from "node-llama-cpp";
import { jsonSchemaToGbnf, UnsupportedSchemaError } from "../../../src/engine/grammar/json-schema-to-gbnf.js";
import { rng } from "../../helpers/rng.js";

const SCHEMAS = 200;
const TEXTS_PER_SCHEMA = 60;

const random = rng(20240229);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const NAMES = ["a", "b", "ab", "c"];

type Schema = Record<string, unknown> | boolean;

function schema(depth: number): Schema {
  switch (int(0, depth > 2 ? 5 : 11)) {
    case 0:
      return { type: pick(["null", "boolean"]) };
    case 1: {
      const s: Record<string, unknown> = { type: "integer" };
      if (random() < 0.6) s[pick(["minimum", "exclusiveMinimum"])] = int(-30, 30);
      if (random() < 0.6) s[pick(["maximum", "exclusiveMaximum"])] = int(-30, 60);
      return s;
    }
    case 2: {
      const s: Record<string, unknown> = { type: "number" };
      if (random() < 0.6) s[pick(["minimum", "exclusiveMinimum"])] = int(-3, 3);
      if (random() < 0.6) s[pick(["maximum", "exclusiveMaximum"])] = int(-3, 6);
      return s;
    }
    case 3: {
      const s: Record<string, unknown> = { type: "string" };
      if (random() < 0.5) s.minLength = int(0, 3);
      if (random() < 0.7) s.maxLength = int(0, 5);
      if (random() < 0.4) s.pattern = pick(["^[a-c]*$", "b", "^a|c$", "^(ab|c)+$", "\\d", "^[^a]?$", "^.{2}$"]);
      if (random() < 0.1) s.format = pick(["date", "uuid", "time"]);
      return s;
    }
    case 4:
      return { enum: Array.from({ length: int(1, 4) }, () => pick([1, 2, "a", "b", null, true, [1], { x: 1 }, 1.5])) };
    case 5:
      return random() < 0.5 ? { const: pick(["a", 3, null, { y: [true] }]) } : pick([true, {}]);
    case 6:
    case 7: {
      const names = NAMES.filter(() => random() < 0.6);
      const s: Record<string, unknown> = {
        type: "object",
        properties: Object.fromEntries(names.map((n) => [n, schema(depth + 1)])),
      };
      const required = names.filter(() => random() < 0.5);
      if (required.length > 0 || random() < 0.3) s.required = random() < 0.1 ? [...required, "zz"] : required;
      const extra = random();
      if (extra < 0.4) s.additionalProperties = false;
      else if (extra < 0.6) s.additionalProperties = schema(depth + 1);
      return s;
    }
    case 8: {
      const s: Record<string, unknown> = { type: "array" };
      if (random() < 0.4) s.prefixItems = Array.from({ length: int(1, 2) }, () => schema(depth + 1));
      if (random() < 0.8) s.items = random() < 0.2 ? false : schema(depth + 1);
      if (random() < 0.4) s.minItems = int(0, 2);
      if (random() < 0.7) s.maxItems = int(0, 3);
      return s;
    }
    case 9:
      return { anyOf: Array.from({ length: int(1, 3) }, () => schema(depth + 1)) };
    case 10:
      return { allOf: [schema(depth + 1), schema(depth + 1)] };
    default:
      return { type: [pick(["string", "integer"]), pick(["null", "boolean", "number"])], maxLength: 2, maximum: 5 };
  }
}

function value(depth: number): unknown {
  switch (int(0, depth > 3 ? 4 : 7)) {
    case 0:
      return pick([null, true, false]);
    case 1:
      return pick([0, 1, -1, 2, 3, 5, 7, -30, 30, 60, 0.5, -0.5, 1.25, 2.5, -3, 6, 100, -2.75]);
    case 2:
      return pick([
        "",
        "a",
        "ab",
        "abc",
        "c",
        "b1",
        "ac",
        "abab",
        "aaaaaa",
        "2024-02-29",
        "12:00:00Z",
        'x\n"\\y',
        "é😀",
        "cab",
      ]);
    case 3:
      return pick([1, 2, "a", "b", null, true, [1], { x: 1 }, 1.5, 3, { y: [true] }]);
    case 4:
      return [];
    case 5:
    case 6:
      return Object.fromEntries([...NAMES, "zz", "q"].filter(() => random() < 0.4).map((n) => [n, value(depth + 1)]));
    default:
      return Array.from({ length: int(0, 3) }, () => value(depth + 1));
  }
}

let llama: Llama;
before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
});
after(async () => {
  await llama?.dispose();
});

/**
 * The schema as the converter generates it: an object that lists properties and does not mention
 * additionalProperties gets no other members (docs/structured-outputs.md, "Extra members").
 */
function closed(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(closed);
  if (typeof s !== "object" || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s))
    out[k] =
      k === "properties"
        ? Object.fromEntries(Object.entries(v as object).map(([n, p]) => [n, closed(p)]))
        : k === "enum" || k === "const"
          ? v
          : closed(v);
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

function accepts(grammar: LlamaGrammar, text: string): boolean {
  return (grammar as unknown as { _grammar: { isTextCompatible(t: string): boolean } })._grammar.isTextCompatible(text);
}

describe("jsonSchemaToGbnf on random schemas", () => {
  it("accepts only valid texts, refuses only by UnsupportedSchemaError", async () => {
    const ajv = new Ajv2020({ strict: false });
    formats.default(ajv);
    const counts = {
      converted: 0,
      refused: 0,
      accepted: 0,
      valid: 0,
      validAccepted: 0,
      closedValid: 0,
      closedAccepted: 0,
    };
    for (let i = 0; i < SCHEMAS; i++) {
      const s = schema(0);
      let gbnf: string;
      try {
        gbnf = jsonSchemaToGbnf(s);
      } catch (e) {
        assert.ok(e instanceof UnsupportedSchemaError, `${JSON.stringify(s)}: ${String(e)}`);
        counts.refused++;
        continue;
      }
      counts.converted++;
      const grammar = await llama.createGrammar({ grammar: gbnf });
      const validate = ajv.compile(typeof s === "boolean" ? s : { ...s });
      const validateClosed = ajv.compile(closed(s) as Record<string, unknown> | boolean);
      for (let j = 0; j < TEXTS_PER_SCHEMA; j++) {
        const v = value(0);
        const text = JSON.stringify(v);
        const valid = validate(v);
        const accepted = accepts(grammar, text);
        if (valid) counts.valid++;
        // allOf of closed branches is stricter here than the grammar's merge: a subset, still fair.
        const closedValid = valid && validateClosed(v);
        if (closedValid) counts.closedValid++;
        if (closedValid && accepted) counts.closedAccepted++;
        if (accepted) {
          counts.accepted++;
          assert.ok(valid, `grammar for ${JSON.stringify(s)} accepts invalid ${text}`);
          counts.validAccepted++;
        }
      }
    }
    console.log(`random schemas: ${JSON.stringify(counts)}`);
    assert.ok(counts.converted > SCHEMAS * 0.7 && counts.accepted > 1000, JSON.stringify(counts));
    // Valid texts the grammar rejects are extra members written before listed ones, or members an
    // object without additionalProperties does not list: by design.
    assert.ok(counts.closedAccepted / counts.closedValid > 0.98, JSON.stringify(counts));
  });
});
