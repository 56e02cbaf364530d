// JSON Schema → an intermediate form that says exactly which JSON values are valid.
//
// Every keyword is either understood exactly, ignored because it never affects validity
// (annotations), or rejected with UnsupportedSchemaError (unsupported: "drop" skips it instead and
// enforces the rest of the schema). Combinators are resolved here rather
// than in the grammar: allOf becomes an intersection (objects merge property by property, string
// constraints accumulate), anyOf/oneOf a union, enum/const a list of values filtered by whatever
// else the schema says. The grammar emitter then only sees plain, typed shapes.
import { UnsupportedSchemaError } from "./errors.js";
import type { Reason } from "./gbnf.js";
import { MAX_REPEAT_COUNT } from "./gbnf.js";
import { compilePattern, FORMAT_PATTERNS, matches, RegexError, type Dfa } from "./regex.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Bound {
  value: number;
  exclusive: boolean;
  keyword: string;
  path: string;
}

export interface NumberShape {
  integer: boolean;
  min: Bound | null;
  max: Bound | null;
}

export interface StringShape {
  minLength: number;
  maxLength: number | null;
  patterns: { source: string; dfa: Dfa; path: string }[];
  formats: { name: string; dfa: Dfa; path: string }[];
  path: string;
}

export interface ArrayShape {
  prefix: Node[];
  /** Items after the prefix; `never` when none are allowed. */
  rest: Node;
  minItems: number;
  maxItems: number | null;
  path: string;
}

export interface ObjectShape {
  /** In schema order; a property whose node is `never` must be absent. */
  props: { name: string; node: Node }[];
  required: string[];
  /** Members not in `props` as JSON Schema reads them; `never` for additionalProperties: false. */
  additional: Node;
  /**
   * Whether generation adds members not in `props`: "keyword" (additionalProperties says so, or
   * says false), "closed" (absent, but the object lists `properties`: no other members are
   * generated, as llama.cpp and xgrammar do), "open" (absent and no `properties`: `{type:
   * "object"}` is any object). An intersection is "keyword" if a side is, else "closed" if a side
   * is: allOf branches that each list some properties merge into one closed object.
   */
  extras: "keyword" | "closed" | "open";
  path: string;
}

export interface Typed {
  null: boolean;
  boolean: boolean;
  number: NumberShape | null;
  string: StringShape | null;
  array: ArrayShape | null;
  object: ObjectShape | null;
}

export type Node =
  | { readonly k: "any" }
  | { readonly k: "never"; readonly reason: Reason }
  | { readonly k: "ref"; readonly ptr: string }
  | { readonly k: "union"; readonly of: readonly Node[] }
  | { readonly k: "consts"; readonly values: readonly Json[] }
  | { readonly k: "typed"; readonly t: Typed };

export const ANY: Node = { k: "any" };

export function neverNode(keyword: string, path: string, message: string): Node {
  return { k: "never", reason: { keyword, path, message } };
}

export interface CompileOptions {
  strict?: boolean;
  /**
   * What to do with a keyword that cannot be enforced exactly: "refuse" (UnsupportedSchemaError,
   * the default) or "drop" (the keyword is skipped, `onDrop` is told, the rest is enforced).
   */
  unsupported?: "refuse" | "drop";
  /** Called once for each keyword dropped (unsupported: "drop"), with the error it would raise. */
  onDrop?: (error: UnsupportedSchemaError) => void;
}

/** Keywords that never change which values are valid. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "$schema",
  "$id",
  "default",
  "examples",
  "strict",
  "$comment",
  "readOnly",
  "writeOnly",
  "deprecated",
]);

const STRING_KEYWORDS = ["minLength", "maxLength", "pattern", "format"];
const NUMBER_KEYWORDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
const ARRAY_KEYWORDS = ["items", "prefixItems", "additionalItems", "minItems", "maxItems"];
const OBJECT_KEYWORDS = ["properties", "required", "additionalProperties"];
const SUPPORTED = new Set([
  "type",
  "enum",
  "const",
  "$ref",
  "allOf",
  "anyOf",
  "oneOf",
  "$defs",
  "definitions",
  ...STRING_KEYWORDS,
  ...NUMBER_KEYWORDS,
  ...ARRAY_KEYWORDS,
  ...OBJECT_KEYWORDS,
]);
const TYPE_NAMES = new Set(["null", "boolean", "object", "array", "number", "string", "integer"]);

/** Intersections of unions multiply their branches; beyond this the schema is refused. */
const MAX_UNION_BRANCHES = 256;

type RawSchema = Record<string, unknown>;

function isPlainObject(v: unknown): v is RawSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function pointerSegment(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

export function isJson(v: unknown): v is Json {
  if (v === null || typeof v === "boolean" || typeof v === "string") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  if (isPlainObject(v)) return Object.values(v).every(isJson);
  return false;
}

/** Key-order-independent equality of JSON values, as JSON Schema's enum and const use. */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]!));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k]!, b[k]!));
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export class SchemaCompiler {
  /** Compiled definitions by normalized JSON pointer; "#" is the root. */
  readonly defs = new Map<string, Node | "pending">();
  private readonly oneOfChecks: { branches: Node[]; path: string }[] = [];
  private readonly dropped = new Set<string>();

  constructor(
    private readonly document: unknown,
    private readonly options: CompileOptions = {},
  ) {}

  compileRoot(): Node {
    if (this.options.strict) {
      const type = isPlainObject(this.document) ? this.document.type : undefined;
      if (type !== "object")
        throw new UnsupportedSchemaError("type", "#", 'strict mode requires the root schema to have type "object"');
    }
    this.ensureDef("#", "#");
    for (const check of this.oneOfChecks) {
      try {
        this.checkOneOf(check.branches, check.path);
      } catch (error) {
        // Dropping oneOf's "exactly one": the branches stay a union (anyOf).
        if (!this.dropping || !(error instanceof UnsupportedSchemaError)) throw error;
        this.drop(error);
      }
    }
    return this.def("#");
  }

  /** Reports a dropped keyword to onDrop, once per keyword and schema object. */
  drop(error: UnsupportedSchemaError): void {
    const key = `${error.keyword} ${error.path}`;
    if (this.dropped.has(key)) return;
    this.dropped.add(key);
    this.options.onDrop?.(error);
  }

  /** Whether keywords that cannot be enforced are skipped (unsupported: "drop", never with strict). */
  get dropping(): boolean {
    return this.options.unsupported === "drop" && !this.options.strict;
  }

  def(ptr: string): Node {
    const node = this.defs.get(ptr);
    if (node === undefined || node === "pending") throw new Error(`internal: definition ${ptr} is not compiled`);
    return node;
  }

  private ensureDef(ptr: string, from: string): void {
    if (this.defs.has(ptr)) return;
    const target = this.resolvePointer(ptr, from);
    this.defs.set(ptr, "pending");
    this.defs.set(ptr, this.compile(target, ptr));
  }

  private normalizeRef(ref: string, path: string): string {
    if (ref === "#") return "#";
    if (!ref.startsWith("#/"))
      throw new UnsupportedSchemaError(
        "$ref",
        path,
        `only local references ("#" or "#/...") are supported, not "${ref}"`,
      );
    let segments: string[];
    try {
      segments = ref
        .slice(2)
        .split("/")
        .map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"));
    } catch {
      throw new UnsupportedSchemaError("$ref", path, `malformed reference "${ref}"`);
    }
    return `#/${segments.map(pointerSegment).join("/")}`;
  }

  private resolvePointer(ptr: string, from: string): unknown {
    if (ptr === "#") return this.document;
    let at: unknown = this.document;
    for (const raw of ptr.slice(2).split("/")) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (Array.isArray(at) && /^\d+$/.test(key)) at = at[Number(key)];
      else if (isPlainObject(at) && Object.hasOwn(at, key)) at = at[key];
      else at = undefined;
      if (at === undefined) throw new UnsupportedSchemaError("$ref", from, `reference "${ptr}" does not resolve`);
    }
    return at;
  }

  compile(raw: unknown, path: string): Node {
    if (!this.dropping) return this.compileExact(raw, path);
    // Drop mode: a keyword refused at this schema object is removed and the object compiled
    // again; refusals deeper down were already handled by their own compile call.
    let current = raw;
    if (isPlainObject(raw)) {
      const unknown = Object.keys(raw).filter((key) => !ANNOTATIONS.has(key) && !SUPPORTED.has(key));
      for (const key of unknown)
        this.drop(new UnsupportedSchemaError(key, path, `keyword "${key}" cannot be enforced by the grammar`));
      if (unknown.length > 0) current = Object.fromEntries(Object.entries(raw).filter(([k]) => !unknown.includes(k)));
    }
    for (;;) {
      try {
        return this.compileExact(current, path);
      } catch (error) {
        if (!(error instanceof UnsupportedSchemaError) || error.path !== path) throw error;
        this.drop(error);
        // A malformed schema (not an object or boolean) constrains nothing.
        if (!isPlainObject(current) || !Object.hasOwn(current, error.keyword)) return ANY;
        const { [error.keyword]: _, ...rest } = current;
        current = rest;
      }
    }
  }

  private compileExact(raw: unknown, path: string): Node {
    if (raw === true) return ANY;
    if (raw === false) return neverNode("false", path, "the schema `false` accepts nothing");
    if (!isPlainObject(raw))
      throw new UnsupportedSchemaError("schema", path, "a schema must be an object or a boolean");
    for (const key of Object.keys(raw))
      if (!ANNOTATIONS.has(key) && !SUPPORTED.has(key))
        throw new UnsupportedSchemaError(key, path, `keyword "${key}" cannot be enforced by the grammar`);
    for (const key of ["$defs", "definitions"])
      if (key in raw && !isPlainObject(raw[key]))
        throw new UnsupportedSchemaError(key, path, `"${key}" must be an object of schemas`);

    const parts: Node[] = [];
    const typed = this.typedPart(raw, path);
    if (typed) parts.push(typed);
    if ("enum" in raw) {
      const values = raw.enum;
      if (!Array.isArray(values) || !values.every(isJson))
        throw new UnsupportedSchemaError("enum", path, '"enum" must be an array of JSON values');
      parts.push({ k: "consts", values: dedupe(values) });
    }
    if ("const" in raw) {
      if (!isJson(raw.const)) throw new UnsupportedSchemaError("const", path, '"const" must be a JSON value');
      parts.push({ k: "consts", values: [raw.const] });
    }
    if ("$ref" in raw) {
      if (typeof raw.$ref !== "string") throw new UnsupportedSchemaError("$ref", path, '"$ref" must be a string');
      const ptr = this.normalizeRef(raw.$ref, path);
      this.ensureDef(ptr, path);
      parts.push({ k: "ref", ptr });
    }
    for (const keyword of ["allOf", "anyOf", "oneOf"] as const) {
      if (!(keyword in raw)) continue;
      const list = raw[keyword];
      if (!Array.isArray(list) || list.length === 0)
        throw new UnsupportedSchemaError(keyword, path, `"${keyword}" must be a non-empty array of schemas`);
      const branches = list.map((s, i) => this.compile(s, `${path}/${keyword}/${i}`));
      if (keyword === "allOf") parts.push(...branches);
      else {
        if (keyword === "oneOf") this.oneOfChecks.push({ branches, path });
        parts.push(this.union(branches, keyword, path));
      }
    }
    return parts.reduce<Node>((acc, p) => this.intersect(acc, p, path), ANY);
  }

  private typedPart(raw: RawSchema, path: string): Node | undefined {
    let types: Set<string>;
    if ("type" in raw) {
      const t = raw.type;
      const list = typeof t === "string" ? [t] : Array.isArray(t) ? t : undefined;
      if (!list || list.length === 0 || !list.every((x) => typeof x === "string" && TYPE_NAMES.has(x)))
        throw new UnsupportedSchemaError("type", path, '"type" must be a type name or a non-empty array of them');
      types = new Set(list as string[]);
    } else {
      // Without "type", a keyword constrains only values of its own type and lets others through;
      // generating only the types whose keywords appear is a narrower, still valid choice.
      types = new Set();
      const present = (keys: string[]): boolean => keys.some((k) => k in raw);
      if (present(STRING_KEYWORDS)) types.add("string");
      if (present(NUMBER_KEYWORDS)) types.add("number");
      if (present(ARRAY_KEYWORDS)) types.add("array");
      if (present(OBJECT_KEYWORDS)) types.add("object");
      if (types.size === 0) return undefined;
    }
    if ("format" in raw && !types.has("string")) this.formatList(raw, path);
    const t: Typed = {
      null: types.has("null"),
      boolean: types.has("boolean"),
      number: types.has("number") || types.has("integer") ? this.numberShape(raw, path, !types.has("number")) : null,
      string: types.has("string") ? this.stringShape(raw, path) : null,
      array: types.has("array") ? this.arrayShape(raw, path) : null,
      object: types.has("object") ? this.objectShape(raw, path) : null,
    };
    return { k: "typed", t };
  }

  private count(raw: RawSchema, keyword: string, path: string): number | null {
    if (!(keyword in raw)) return null;
    const v = raw[keyword];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw new UnsupportedSchemaError(keyword, path, `"${keyword}" must be a non-negative integer`);
    if (v > MAX_REPEAT_COUNT)
      throw new UnsupportedSchemaError(keyword, path, `"${keyword}" above ${MAX_REPEAT_COUNT} is not supported`);
    return v;
  }

  private numberShape(raw: RawSchema, path: string, integer: boolean): NumberShape {
    const bound = (keyword: string, exclusive: boolean): Bound | null => {
      if (!(keyword in raw)) return null;
      const v = raw[keyword];
      if (typeof v !== "number" || !Number.isFinite(v))
        throw new UnsupportedSchemaError(
          keyword,
          path,
          `"${keyword}" must be a number (draft-4 boolean form is not supported)`,
        );
      return { value: v, exclusive, keyword, path };
    };
    return {
      integer,
      min: tighterMin(bound("minimum", false), bound("exclusiveMinimum", true)),
      max: tighterMax(bound("maximum", false), bound("exclusiveMaximum", true)),
    };
  }

  private formatList(raw: RawSchema, path: string): { name: string; dfa: Dfa; path: string }[] {
    if (!("format" in raw)) return [];
    const name = raw.format;
    if (typeof name !== "string" || !Object.hasOwn(FORMAT_PATTERNS, name))
      throw new UnsupportedSchemaError(
        "format",
        path,
        `format ${JSON.stringify(name)} is not supported (supported: ${Object.keys(FORMAT_PATTERNS).join(", ")})`,
      );
    return [{ name, dfa: compilePattern(FORMAT_PATTERNS[name]!), path }];
  }

  private stringShape(raw: RawSchema, path: string): StringShape {
    const patterns: StringShape["patterns"] = [];
    if ("pattern" in raw) {
      const source = raw.pattern;
      if (typeof source !== "string") throw new UnsupportedSchemaError("pattern", path, '"pattern" must be a string');
      try {
        patterns.push({ source, dfa: compilePattern(source), path });
      } catch (e) {
        if (e instanceof RegexError)
          throw new UnsupportedSchemaError("pattern", path, `unsupported pattern: ${e.message}`);
        throw e;
      }
    }
    return {
      minLength: this.count(raw, "minLength", path) ?? 0,
      maxLength: this.count(raw, "maxLength", path),
      patterns,
      formats: this.formatList(raw, path),
      path,
    };
  }

  private arrayShape(raw: RawSchema, path: string): ArrayShape {
    let prefix: Node[] = [];
    let rest: Node = ANY;
    const items = raw.items;
    if ("prefixItems" in raw) {
      if (!Array.isArray(raw.prefixItems))
        throw new UnsupportedSchemaError("prefixItems", path, '"prefixItems" must be an array of schemas');
      if (Array.isArray(items))
        throw new UnsupportedSchemaError("items", path, 'with "prefixItems", "items" must be a single schema');
      prefix = raw.prefixItems.map((s, i) => this.compile(s, `${path}/prefixItems/${i}`));
      if ("items" in raw) rest = this.compile(items, `${path}/items`);
    } else if (Array.isArray(items)) {
      // Draft-7 tuple form: "items" is the prefix, "additionalItems" the rest.
      prefix = items.map((s, i) => this.compile(s, `${path}/items/${i}`));
      if ("additionalItems" in raw) rest = this.compile(raw.additionalItems, `${path}/additionalItems`);
    } else if ("items" in raw) {
      rest = this.compile(items, `${path}/items`);
    }
    return {
      prefix,
      rest,
      minItems: this.count(raw, "minItems", path) ?? 0,
      maxItems: this.count(raw, "maxItems", path),
      path,
    };
  }

  private objectShape(raw: RawSchema, path: string): ObjectShape {
    const props: ObjectShape["props"] = [];
    if ("properties" in raw) {
      if (!isPlainObject(raw.properties))
        throw new UnsupportedSchemaError("properties", path, '"properties" must be an object of schemas');
      for (const [name, s] of Object.entries(raw.properties))
        props.push({ name, node: this.compile(s, `${path}/properties/${pointerSegment(name)}`) });
    }
    let required: string[] = [];
    if ("required" in raw) {
      const r = raw.required;
      if (!Array.isArray(r) || !r.every((x) => typeof x === "string"))
        throw new UnsupportedSchemaError("required", path, '"required" must be an array of strings');
      required = [...new Set(r as string[])];
    }
    const stated = "additionalProperties" in raw;
    const additional = stated ? this.compile(raw.additionalProperties, `${path}/additionalProperties`) : ANY;
    const extras = stated ? "keyword" : "properties" in raw ? "closed" : "open";
    if (this.options.strict) {
      if (raw.additionalProperties !== false)
        throw new UnsupportedSchemaError(
          "additionalProperties",
          path,
          "strict mode requires additionalProperties: false on every object",
        );
      const missing = props.map((p) => p.name).filter((n) => !required.includes(n));
      if (missing.length > 0)
        throw new UnsupportedSchemaError(
          "required",
          path,
          `strict mode requires every property to be listed in "required" (missing: ${missing.join(", ")})`,
        );
    }
    // A required name without a property schema is still constrained by additionalProperties.
    for (const name of required) if (!props.some((p) => p.name === name)) props.push({ name, node: additional });
    return { props, required, additional, extras, path };
  }

  // -------------------------------------------------------------------------------------------

  union(nodes: readonly Node[], keyword: string, path: string): Node {
    const of: Node[] = [];
    let firstNever: Node | undefined;
    for (const n of nodes)
      for (const b of n.k === "union" ? n.of : [n]) {
        if (b.k === "any") return ANY;
        if (b.k === "never") firstNever ??= b;
        else of.push(b);
      }
    if (of.length > MAX_UNION_BRANCHES)
      throw new UnsupportedSchemaError(
        keyword,
        path,
        `combining these unions gives more than ${MAX_UNION_BRANCHES} alternatives`,
      );
    if (of.length === 0) return firstNever ?? neverNode(keyword, path, "no alternative is satisfiable");
    return of.length === 1 ? of[0]! : { k: "union", of };
  }

  private expand(n: Node, path: string): Node {
    if (n.k !== "ref") return n;
    const d = this.defs.get(n.ptr);
    if (d === undefined || d === "pending")
      throw new UnsupportedSchemaError(
        "$ref",
        path,
        `a recursive reference (${n.ptr}) cannot be combined with other keywords or allOf here`,
      );
    return this.expand(d, path);
  }

  intersect(a: Node, b: Node, path: string): Node {
    if (a.k === "any") return b;
    if (b.k === "any") return a;
    if (a.k === "never") return a;
    if (b.k === "never") return b;
    if (a.k === "ref" && b.k === "ref" && a.ptr === b.ptr) return a;
    if (a.k === "ref") return this.intersect(this.expand(a, path), b, path);
    if (b.k === "ref") return this.intersect(a, this.expand(b, path), path);
    if (a.k === "union")
      return this.union(
        a.of.map((x) => this.intersect(x, b, path)),
        "allOf",
        path,
      );
    if (b.k === "union")
      return this.union(
        b.of.map((x) => this.intersect(a, x, path)),
        "allOf",
        path,
      );
    if (a.k === "consts") return this.filterConsts(a.values, b, path);
    if (b.k === "consts") return this.filterConsts(b.values, a, path);
    return this.intersectTyped(a.t, b.t, path);
  }

  private filterConsts(values: readonly Json[], other: Node, path: string): Node {
    const kept = values.filter((v) => this.validate(other, v, path));
    return kept.length > 0
      ? { k: "consts", values: kept }
      : neverNode("enum", path, "no enum/const value satisfies the other keywords");
  }

  private intersectTyped(a: Typed, b: Typed, path: string): Node {
    const t: Typed = {
      null: a.null && b.null,
      boolean: a.boolean && b.boolean,
      number: a.number && b.number ? intersectNumber(a.number, b.number) : null,
      string: a.string && b.string ? intersectString(a.string, b.string) : null,
      array: a.array && b.array ? this.intersectArray(a.array, b.array, path) : null,
      object: a.object && b.object ? this.intersectObject(a.object, b.object, path) : null,
    };
    if (!t.null && !t.boolean && !t.number && !t.string && !t.array && !t.object)
      return neverNode("type", path, "the combined schemas share no type");
    return { k: "typed", t };
  }

  private intersectArray(a: ArrayShape, b: ArrayShape, path: string): ArrayShape {
    const n = Math.max(a.prefix.length, b.prefix.length);
    const prefix: Node[] = [];
    for (let i = 0; i < n; i++) prefix.push(this.intersect(a.prefix[i] ?? a.rest, b.prefix[i] ?? b.rest, path));
    return {
      prefix,
      rest: this.intersect(a.rest, b.rest, path),
      minItems: Math.max(a.minItems, b.minItems),
      maxItems: a.maxItems === null ? b.maxItems : b.maxItems === null ? a.maxItems : Math.min(a.maxItems, b.maxItems),
      path: a.path,
    };
  }

  private intersectObject(a: ObjectShape, b: ObjectShape, path: string): ObjectShape {
    const names = [
      ...a.props.map((p) => p.name),
      ...b.props.map((p) => p.name).filter((n) => !a.props.some((p) => p.name === n)),
    ];
    const find = (o: ObjectShape, name: string): Node => o.props.find((p) => p.name === name)?.node ?? o.additional;
    return {
      props: names.map((name) => ({ name, node: this.intersect(find(a, name), find(b, name), path) })),
      required: [...new Set([...a.required, ...b.required])],
      additional: this.intersect(a.additional, b.additional, path),
      extras: [a.extras, b.extras].includes("keyword")
        ? "keyword"
        : [a.extras, b.extras].includes("closed")
          ? "closed"
          : "open",
      path: a.path,
    };
  }

  // -------------------------------------------------------------------------------------------

  /** Whether `v` is valid against `node` (used to filter enum/const values). */
  validate(node: Node, v: Json, path: string): boolean {
    switch (node.k) {
      case "any":
        return true;
      case "never":
        return false;
      case "ref":
        return this.validate(this.expand(node, path), v, path);
      case "union":
        return node.of.some((b) => this.validate(b, v, path));
      case "consts":
        return node.values.some((c) => jsonEqual(c, v));
      case "typed":
        return this.validateTyped(node.t, v, path);
    }
  }

  private validateTyped(t: Typed, v: Json, path: string): boolean {
    if (v === null) return t.null;
    if (typeof v === "boolean") return t.boolean;
    if (typeof v === "number") {
      const n = t.number;
      if (!n || (n.integer && !Number.isInteger(v))) return false;
      if (n.min && (n.min.exclusive ? v <= n.min.value : v < n.min.value)) return false;
      if (n.max && (n.max.exclusive ? v >= n.max.value : v > n.max.value)) return false;
      return true;
    }
    if (typeof v === "string") {
      const s = t.string;
      if (!s) return false;
      const len = codePointLength(v);
      if (len < s.minLength || (s.maxLength !== null && len > s.maxLength)) return false;
      return s.patterns.every((p) => matches(p.dfa, v)) && s.formats.every((f) => matches(f.dfa, v));
    }
    if (Array.isArray(v)) {
      const a = t.array;
      if (!a || v.length < a.minItems || (a.maxItems !== null && v.length > a.maxItems)) return false;
      return v.every((item, i) => this.validate(a.prefix[i] ?? a.rest, item, path));
    }
    const o = t.object;
    if (!o) return false;
    if (!o.required.every((name) => Object.hasOwn(v, name))) return false;
    return Object.entries(v).every(([name, value]) =>
      this.validate(o.props.find((p) => p.name === name)?.node ?? o.additional, value, path),
    );
  }

  // -------------------------------------------------------------------------------------------
  // oneOf is generated as anyOf, which is exact only when no value matches two branches.

  private checkOneOf(branches: Node[], path: string): void {
    for (let i = 0; i < branches.length; i++)
      for (let j = i + 1; j < branches.length; j++)
        if (!this.disjoint(branches[i]!, branches[j]!, path, 0))
          throw new UnsupportedSchemaError(
            "oneOf",
            path,
            `oneOf branches ${i} and ${j} may both match one value; lavash enforces oneOf only when branches are ` +
              "provably disjoint (different types, different const/enum values, or objects with a required property " +
              "whose values differ): use anyOf if overlap is acceptable",
          );
  }

  private disjoint(x: Node, y: Node, path: string, depth: number): boolean {
    if (depth > 16) return false;
    const a = x.k === "ref" ? this.expand(x, path) : x;
    const b = y.k === "ref" ? this.expand(y, path) : y;
    if (a.k === "never" || b.k === "never") return true;
    if (a.k === "any" || b.k === "any") return false;
    if (a.k === "union") return a.of.every((p) => this.disjoint(p, b, path, depth + 1));
    if (b.k === "union") return b.of.every((q) => this.disjoint(a, q, path, depth + 1));
    if (a.k === "consts") return a.values.every((v) => !this.validate(b, v, path));
    if (b.k === "consts") return b.values.every((v) => !this.validate(a, v, path));
    if (a.k !== "typed" || b.k !== "typed") return false;
    const ta = a.t;
    const tb = b.t;
    if ((ta.null && tb.null) || (ta.boolean && tb.boolean) || (ta.string && tb.string) || (ta.array && tb.array))
      return false;
    if (ta.number && tb.number && !numbersDisjoint(ta.number, tb.number)) return false;
    if (ta.object && tb.object) {
      const oa = ta.object;
      const ob = tb.object;
      const discriminated = oa.required.some(
        (name) =>
          ob.required.includes(name) &&
          this.disjoint(
            oa.props.find((p) => p.name === name)?.node ?? oa.additional,
            ob.props.find((p) => p.name === name)?.node ?? ob.additional,
            path,
            depth + 1,
          ),
      );
      if (!discriminated) return false;
    }
    return true;
  }
}

function dedupe(values: Json[]): Json[] {
  const out: Json[] = [];
  for (const v of values) if (!out.some((o) => jsonEqual(o, v))) out.push(v);
  return out;
}

function tighterMin(a: Bound | null, b: Bound | null): Bound | null {
  if (!a || !b) return a ?? b;
  if (a.value !== b.value) return a.value > b.value ? a : b;
  return a.exclusive ? a : b;
}

function tighterMax(a: Bound | null, b: Bound | null): Bound | null {
  if (!a || !b) return a ?? b;
  if (a.value !== b.value) return a.value < b.value ? a : b;
  return a.exclusive ? a : b;
}

function intersectNumber(a: NumberShape, b: NumberShape): NumberShape {
  return { integer: a.integer || b.integer, min: tighterMin(a.min, b.min), max: tighterMax(a.max, b.max) };
}

function intersectString(a: StringShape, b: StringShape): StringShape {
  return {
    minLength: Math.max(a.minLength, b.minLength),
    maxLength:
      a.maxLength === null ? b.maxLength : b.maxLength === null ? a.maxLength : Math.min(a.maxLength, b.maxLength),
    patterns: [...a.patterns, ...b.patterns],
    formats: [...a.formats, ...b.formats],
    path: a.path,
  };
}

function numbersDisjoint(a: NumberShape, b: NumberShape): boolean {
  const below = (hi: Bound | null, lo: Bound | null): boolean =>
    hi !== null && lo !== null && (hi.value < lo.value || (hi.value === lo.value && (hi.exclusive || lo.exclusive)));
  return below(a.max, b.min) || below(b.max, a.min);
}
