// JSON Schema → llama.cpp GBNF that accepts exactly one JSON value valid against the schema.
//
// Why lavash's own converter: node-llama-cpp's createGrammarForJsonSchema silently ignores
// `required`, anyOf, pattern, bounds... (see docs/structured-outputs.md). Here every keyword is
// enforced exactly or, by default, the schema is refused with UnsupportedSchemaError; the grammar
// may be narrower than the schema (canonical spellings, bounded whitespace and digit counts, no
// extra members unless additionalProperties asks for them), never looser. With unsupported:
// "drop" (non-strict schemas) a keyword that cannot be enforced is skipped, the rest enforced.
import * as cs from "./charset.js";
import type { CharSet } from "./charset.js";
import { UnsupportedSchemaError } from "./errors.js";
import { alt, cls, EMPTY, GrammarBuilder, lit, never, opt, ref, rep, seq, type Expr } from "./gbnf.js";
import {
  excludeStrings,
  intersectDfa,
  lengthBounds,
  lengthDfa,
  minimize,
  RegexError,
  isEmptyLanguage,
  type Dfa,
} from "./regex.js";
import {
  SchemaCompiler,
  type ArrayShape,
  type Bound,
  type Node,
  type NumberShape,
  type ObjectShape,
  type StringShape,
  type Typed,
} from "./schema.js";

export { UnsupportedSchemaError } from "./errors.js";

export interface JsonSchemaToGbnfOptions {
  /**
   * OpenAI strict-mode rules on top of exact enforcement: the root must be an object, every object
   * must say additionalProperties: false and list every property in `required`. OpenAI answers 400
   * to strict schemas that break them; so does a caller that passes strict through.
   */
  strict?: boolean;
  /**
   * Longest string (in characters) the grammar allows where the schema sets no maxLength,
   * object keys of additional properties and strings inside "any value" included. Default: no
   * cap, so every valid string stays possible. A cap makes long strings impossible (still valid
   * output, never invalid), and is what lets a random-weight model close its strings.
   */
  maxStringLength?: number;
  /**
   * Most members an object may have besides its listed properties (those allowed by
   * additionalProperties; every member of an object inside "any value"). Default: no cap. Like
   * maxStringLength it makes large objects impossible, never invalid output.
   */
  maxAdditionalProperties?: number;
  /**
   * A keyword that cannot be enforced exactly: "refuse" (default) throws UnsupportedSchemaError;
   * "drop" skips it and enforces the rest of the schema (for non-strict schemas; ignored with
   * strict, whose schemas are always refused). See docs/structured-outputs.md for what dropping
   * each keyword means.
   */
  unsupported?: "refuse" | "drop";
  /** Told of each keyword dropped under unsupported: "drop" (keyword and path of the schema object). */
  onDrop?: (error: UnsupportedSchemaError) => void;
}

// Whitespace between tokens: nothing, one space, or a newline and up to 20 spaces/tabs (llama.cpp's
// own converter allows the same indentation). Bounded so that a sampler cannot wander in
// whitespace forever; deeper pretty-printing is cut at 20 columns, which is still valid JSON.
const WS_INDENT = 20;

// Integer parts of at most 16 digits (beyond 2^53 the digits are noise anyway), fractions of at
// most 16 digits (31 where a non-zero fraction is required), exponents of at most 2 digits: every
// number a grammar allows is finite in a double, and a sampler cannot run on in digits.
const MAX_INT_DIGITS = 16;
const MAX_FRACTION_DIGITS = 16;

const DIGIT = cs.range(0x30, 0x39);
const NONZERO = cs.range(0x31, 0x39);
const digitRange = (from: number, to: number): CharSet => cs.range(0x30 + from, 0x30 + to);

const FRACTION = seq(lit("."), rep(cls(DIGIT), 1, MAX_FRACTION_DIGITS));
const ZERO_FRACTION = seq(lit("."), rep(lit("0"), 1, MAX_FRACTION_DIGITS));
const NONZERO_FRACTION = seq(
  lit("."),
  rep(lit("0"), 0, MAX_FRACTION_DIGITS - 1),
  cls(NONZERO),
  rep(cls(DIGIT), 0, MAX_FRACTION_DIGITS - 1),
);
const EXPONENT = seq(cls(cs.chars("eE")), opt(cls(cs.chars("+-"))), rep(cls(DIGIT), 1, 2));

const allChar = (s: string, c: string): boolean => [...s].every((x) => x === c);

/** Decimal strings a..b of one length (a <= b), digit by digit. */
function sameLength(a: string, b: string): Expr {
  if (a.length === 0) return EMPTY;
  if (a === b) return lit(a);
  if (a[0] === b[0]) return seq(lit(a[0]!), sameLength(a.slice(1), b.slice(1)));
  const rest = a.length - 1;
  const parts: Expr[] = [];
  let from = Number(a[0]);
  let to = Number(b[0]);
  if (!allChar(a.slice(1), "0")) {
    parts.push(seq(lit(a[0]!), sameLength(a.slice(1), "9".repeat(rest))));
    from++;
  }
  let upper: Expr | undefined;
  if (!allChar(b.slice(1), "9")) {
    upper = seq(lit(b[0]!), sameLength("0".repeat(rest), b.slice(1)));
    to--;
  }
  if (from <= to) parts.push(seq(cls(digitRange(from, to)), rep(cls(DIGIT), rest, rest)));
  if (upper) parts.push(upper);
  return alt(...parts);
}

/** Canonical decimal spellings (no leading zeros) of the integers lo..hi (hi null: no bound). */
function uintRange(lo: number, hi: number | null): Expr {
  if (hi !== null && lo > hi) return never("minimum", "#", "empty integer range");
  const loText = String(lo);
  const maxDigits = hi === null ? Math.max(MAX_INT_DIGITS, loText.length) : String(hi).length;
  const parts: Expr[] = [];
  const top = (len: number): string => (hi !== null && len === String(hi).length ? String(hi) : "9".repeat(len));
  parts.push(sameLength(loText, top(loText.length)));
  const firstFull = loText.length + 1;
  const lastFull = hi === null ? maxDigits : maxDigits - 1;
  if (firstFull <= lastFull) parts.push(seq(cls(NONZERO), rep(cls(DIGIT), firstFull - 1, lastFull - 1)));
  if (hi !== null && maxDigits > loText.length) parts.push(sameLength(`1${"0".repeat(maxDigits - 1)}`, String(hi)));
  return alt(...parts);
}

interface MagnitudeBound {
  value: number;
  exclusive: boolean;
}

/** Non-negative decimals y with lower <= y (<) and y <= (<) upper, integer-valued bounds. */
function magnitude(lower: MagnitudeBound, upper: MagnitudeBound | null, fractions: boolean): Expr {
  const a = lower.value;
  const parts: Expr[] = [];
  const lowI = lower.exclusive ? a + 1 : a;
  const highI = upper === null ? null : upper.value - 1;
  if (highI === null || lowI <= highI) parts.push(seq(uintRange(lowI, highI), fractions ? opt(FRACTION) : EMPTY));
  if (fractions && lower.exclusive && (upper === null || a < upper.value))
    parts.push(seq(lit(String(a)), NONZERO_FRACTION));
  if (upper && !upper.exclusive && (lower.exclusive ? upper.value > a : upper.value >= a))
    parts.push(seq(lit(String(upper.value)), fractions ? opt(ZERO_FRACTION) : EMPTY));
  return parts.length > 0 ? alt(...parts) : never("minimum", "#", "empty range");
}

function checkBound(b: Bound | null, integer: boolean): void {
  if (!b) return;
  if (Math.abs(b.value) > Number.MAX_SAFE_INTEGER)
    throw new UnsupportedSchemaError(
      b.keyword,
      b.path,
      `a bound beyond ±${Number.MAX_SAFE_INTEGER} is supported only where it excludes nothing (a minimum below -1e16, a maximum above 1e16)`,
    );
  if (!integer && !Number.isInteger(b.value))
    throw new UnsupportedSchemaError(
      b.keyword,
      b.path,
      "bounds on non-integer numbers must be whole numbers (a fractional bound has no exact grammar here)",
    );
}

class Emitter {
  private readonly builtins = new Map<string, string>();
  private readonly shapeRules = new Map<object, string>();
  private readonly defRules = new Map<string, string>();

  constructor(
    private readonly compiler: SchemaCompiler,
    private readonly maxStringLength: number | undefined,
    private readonly maxExtras: number | undefined,
    readonly g: GrammarBuilder = new GrammarBuilder(),
  ) {}

  private builtin(name: string, body: () => Expr): string {
    let rule = this.builtins.get(name);
    if (!rule) {
      rule = this.g.reserve(name);
      this.builtins.set(name, rule);
      this.g.define(rule, body());
    }
    return rule;
  }

  private ws(): Expr {
    return ref(this.builtin("ws", () => opt(alt(lit(" "), seq(lit("\n"), rep(cls(cs.chars(" \t")), 0, WS_INDENT))))));
  }

  /** One character of `set` as it appears inside a JSON string literal, in one canonical spelling. */
  private encodeSet(set: CharSet): Expr {
    const plain = cs.subtract(cs.intersect(set, cs.range(0x20, cs.MAX_CODE_POINT)), cs.chars('"\\'));
    const parts: Expr[] = [];
    if (!cs.isEmpty(cs.subtract(plain, cs.SURROGATES))) parts.push(cls(plain));
    const short: [number, string][] = [
      [0x22, '"'],
      [0x5c, "\\"],
      [0x08, "b"],
      [0x0c, "f"],
      [0x0a, "n"],
      [0x0d, "r"],
      [0x09, "t"],
    ];
    const letters = short.filter(([cp]) => cs.has(set, cp)).map(([, l]) => l);
    const escapes: Expr[] = [];
    if (letters.length > 0) escapes.push(cls(cs.chars(letters.join(""))));
    // Other control characters: \u00XX with lowercase hex, JSON.stringify's spelling.
    const lowHex = (nibbles: number[]): CharSet => cs.chars(nibbles.map((n) => n.toString(16)).join(""));
    const uParts: Expr[] = [];
    for (const high of [0, 1]) {
      const nibbles: number[] = [];
      for (let low = 0; low < 16; low++) {
        const cp = high * 16 + low;
        if (cs.has(set, cp) && !short.some(([s]) => s === cp)) nibbles.push(low);
      }
      if (nibbles.length > 0) uParts.push(seq(lit(String(high)), cls(lowHex(nibbles))));
    }
    if (uParts.length > 0) escapes.push(seq(lit("u00"), alt(...uParts)));
    if (escapes.length > 0) parts.push(seq(lit("\\"), alt(...escapes)));
    return alt(...parts);
  }

  private char(): Expr {
    return ref(this.builtin("char", () => this.encodeSet(cs.ALL)));
  }

  private anyString(): Expr {
    return ref(
      this.builtin("string", () => seq(lit('"'), rep(this.char(), 0, this.maxStringLength ?? null), lit('"'))),
    );
  }

  private anyNumber(): Expr {
    return ref(this.builtin("number", () => seq(opt(lit("-")), uintRange(0, null), opt(FRACTION), opt(EXPONENT))));
  }

  private anyInteger(): Expr {
    return ref(this.builtin("integer", () => seq(opt(lit("-")), uintRange(0, null))));
  }

  private anyValue(): Expr {
    return ref(
      this.builtin("value", () => {
        const value = ref(this.builtins.get("value")!);
        const member = seq(this.anyString(), lit(":"), this.ws(), value);
        const more = this.maxExtras === undefined ? null : this.maxExtras - 1;
        const object = ref(
          this.builtin("object", () =>
            seq(
              lit("{"),
              this.ws(),
              more === -1 ? EMPTY : opt(seq(member, rep(seq(lit(","), this.ws(), member), 0, more), this.ws())),
              lit("}"),
            ),
          ),
        );
        const array = ref(
          this.builtin("array", () =>
            seq(
              lit("["),
              this.ws(),
              opt(seq(value, rep(seq(lit(","), this.ws(), value), 0, null), this.ws())),
              lit("]"),
            ),
          ),
        );
        return alt(object, array, this.anyString(), this.anyNumber(), lit("true"), lit("false"), lit("null"));
      }),
    );
  }

  defRule(ptr: string): string {
    let name = this.defRules.get(ptr);
    if (!name) {
      const last =
        ptr === "#"
          ? "root"
          : `def-${ptr
              .slice(ptr.lastIndexOf("/") + 1)
              .replace(/~1/g, "/")
              .replace(/~0/g, "~")}`;
      name = this.g.reserve(last, ptr);
      this.defRules.set(ptr, name);
      const node = this.compiler.def(ptr);
      // A definition that is exactly one object or array shape becomes that shape's rule itself.
      const t = node.k === "typed" ? node.t : undefined;
      if (t && !t.null && !t.boolean && !t.number && !t.string && (t.array === null) !== (t.object === null)) {
        this.shapeRules.set((t.array ?? t.object)!, name);
        this.g.define(name, t.array ? this.emitArray(t.array, name) : this.emitObject(t.object!, name));
      } else {
        this.g.define(name, this.emit(node, name));
      }
    }
    return name;
  }

  emit(node: Node, hint: string): Expr {
    switch (node.k) {
      case "any":
        return this.anyValue();
      case "never":
        return never(node.reason.keyword, node.reason.path, node.reason.message);
      case "ref":
        return ref(this.defRule(node.ptr));
      case "union":
        return alt(...node.of.map((b, i) => this.emit(b, `${hint}-${i}`)));
      case "consts":
        return alt(...node.values.map((v) => lit(JSON.stringify(v))));
      case "typed":
        return this.emitTyped(node.t, hint);
    }
  }

  private emitTyped(t: Typed, hint: string): Expr {
    const parts: Expr[] = [];
    if (t.null) parts.push(lit("null"));
    if (t.boolean) parts.push(lit("true"), lit("false"));
    if (t.number) parts.push(this.emitNumber(t.number));
    if (t.string) parts.push(this.emitString(t.string, `${hint}-str`));
    if (t.array)
      parts.push(this.shapeRule(t.array, `${hint}${t.object ? "-arr" : ""}`, (name) => this.emitArray(t.array!, name)));
    if (t.object) parts.push(this.shapeRule(t.object, hint, (name) => this.emitObject(t.object!, name)));
    return alt(...parts);
  }

  private shapeRule(shape: object, hint: string, body: (name: string) => Expr): Expr {
    let name = this.shapeRules.get(shape);
    if (!name) {
      name = this.g.reserve(hint);
      this.shapeRules.set(shape, name);
      this.g.define(name, body(name));
    }
    return ref(name);
  }

  private emitNumber(n: NumberShape): Expr {
    if (!this.compiler.dropping) return this.emitNumberExact(n);
    // Dropping: a fractional bound on a number is rounded inward (minimum 0.5 generates >= 1),
    // a bound beyond ±2^53 that excludes something is dropped.
    const min = this.enforceableBound(n.min, n.integer, Math.ceil);
    const max = this.enforceableBound(n.max, n.integer, Math.floor);
    if (min === n.min && max === n.max) return this.emitNumberExact(n);
    const body = this.emitNumberExact({ ...n, min, max });
    if (body.t !== "never") return body;
    // Rounding inward left no value (minimum 0.2, maximum 0.8): those bounds are dropped instead.
    return this.emitNumberExact({ ...n, min: min === n.min ? min : null, max: max === n.max ? max : null });
  }

  private enforceableBound(b: Bound | null, integer: boolean, round: (x: number) => number): Bound | null {
    const huge = 10 ** MAX_INT_DIGITS;
    if (!b || (round === Math.ceil ? b.value <= -huge : b.value >= huge)) return b;
    try {
      checkBound(b, integer);
      return b;
    } catch (error) {
      if (!(error instanceof UnsupportedSchemaError)) throw error;
      this.compiler.drop(error);
      return Math.abs(b.value) > Number.MAX_SAFE_INTEGER ? null : { ...b, value: round(b.value), exclusive: false };
    }
  }

  private emitNumberExact(n: NumberShape): Expr {
    if (!n.min && !n.max) return n.integer ? this.anyInteger() : this.anyNumber();
    // Bounded numbers are written without exponent, so with at most 16 integer digits: a bound
    // at or beyond ±1e16 on its permissive side (zod's float32 range, say) always holds.
    const huge = 10 ** MAX_INT_DIGITS;
    const min = n.min && n.min.value > -huge ? n.min : null;
    const max = n.max && n.max.value < huge ? n.max : null;
    checkBound(min, n.integer);
    checkBound(max, n.integer);
    const where = (n.min ?? n.max)!;
    const empty = never(where.keyword, where.path, "the numeric bounds admit no value");
    if (n.integer) {
      const lo = min ? (min.exclusive ? Math.floor(min.value) + 1 : Math.ceil(min.value)) : null;
      const hi = max ? (max.exclusive ? Math.ceil(max.value) - 1 : Math.floor(max.value)) : null;
      if (lo !== null && hi !== null && lo > hi) return empty;
      const parts: Expr[] = [];
      if (hi === null || hi >= 0) parts.push(uintRange(Math.max(lo ?? 0, 0), hi));
      if (lo === null || lo < 0) {
        const yLo = hi === null ? 1 : Math.max(-hi, 1);
        const yHi = lo === null ? null : -lo;
        if (yHi === null || yLo <= yHi) parts.push(seq(lit("-"), uintRange(yLo, yHi)));
      }
      return parts.length > 0 ? alt(...parts) : empty;
    }
    const parts: Expr[] = [];
    if (!max || max.value >= 0) {
      const lower =
        min && min.value >= 0 ? { value: min.value, exclusive: min.exclusive } : { value: 0, exclusive: false };
      parts.push(magnitude(lower, max ? { value: max.value, exclusive: max.exclusive } : null, true));
    }
    if (!min || min.value < 0) {
      const lower =
        max && max.value < 0 ? { value: -max.value, exclusive: max.exclusive } : { value: 0, exclusive: true };
      parts.push(seq(lit("-"), magnitude(lower, min ? { value: -min.value, exclusive: min.exclusive } : null, true)));
    }
    const body = alt(...parts);
    return body.t === "never" ? empty : body;
  }

  private emitString(s: StringShape, hint: string): Expr {
    try {
      return this.emitStringExact(s, hint);
    } catch (error) {
      if (!this.compiler.dropping || !(error instanceof UnsupportedSchemaError)) throw error;
      // Dropping: patterns too large for an automaton go first, then formats; lengths stay.
      this.compiler.drop(error);
      return this.emitString(s.patterns.length > 0 ? { ...s, patterns: [] } : { ...s, formats: [] }, hint);
    }
  }

  private emitStringExact(s: StringShape, hint: string): Expr {
    const cap = this.maxStringLength;
    const max = s.maxLength ?? (cap === undefined ? null : Math.max(cap, s.minLength));
    if (max !== null && s.minLength > max) return never("minLength", s.path, "minLength is greater than maxLength");
    const constraints = [...s.patterns, ...s.formats];
    if (constraints.length === 0) {
      if (s.minLength === 0 && max === (cap ?? null)) return this.anyString();
      return seq(lit('"'), rep(this.char(), s.minLength, max), lit('"'));
    }
    const keyword = s.patterns.length > 0 ? "pattern" : "format";
    const where = constraints[0]!.path;
    try {
      let dfa = constraints.map((c) => c.dfa).reduce((a, b) => intersectDfa(a, b));
      const bounds = lengthBounds(dfa);
      if (bounds.min < s.minLength || bounds.max > (max ?? Infinity))
        dfa = intersectDfa(dfa, lengthDfa(s.minLength, max));
      dfa = minimize(dfa);
      if (isEmptyLanguage(dfa))
        return never(keyword, where, "no string satisfies the pattern, format and length constraints together");
      return this.emitDfa(dfa, hint);
    } catch (e) {
      if (e instanceof RegexError) throw new UnsupportedSchemaError(keyword, where, e.message);
      throw e;
    }
  }

  /** The string body as one rule per DFA state; accepting states may close the quote. */
  private emitDfa(dfa: Dfa, hint: string): Expr {
    const names = dfa.accept.map((_, s) => this.g.reserve(`${hint}-${s}`));
    dfa.accept.forEach((accepting, s) => {
      const byTarget = new Map<number, [number, number][]>();
      for (const [lo, hi, to] of dfa.edges[s]!) {
        const list = byTarget.get(to) ?? [];
        list.push([lo, hi]);
        byTarget.set(to, list);
      }
      const parts: Expr[] = [];
      for (const [to, ranges] of byTarget) {
        const onlyCloses = dfa.accept[to] && dfa.edges[to]!.length === 0;
        parts.push(
          seq(
            this.encodeSet(cs.union(...ranges.map(([lo, hi]) => cs.range(lo, hi)))),
            onlyCloses ? lit('"') : ref(names[to]!),
          ),
        );
      }
      if (accepting) parts.push(lit('"'));
      this.g.define(names[s]!, alt(...parts));
    });
    return seq(lit('"'), ref(names[dfa.start]!));
  }

  private emitArray(a: ArrayShape, name: string): Expr {
    const element = (i: number): Expr =>
      this.emit(i < a.prefix.length ? a.prefix[i]! : a.rest, `${name}-${i < a.prefix.length ? i : "item"}`);
    // Where an element can never be valid, the array must end before it.
    let max = a.maxItems ?? Infinity;
    const firstNever = a.prefix.findIndex((p) => p.k === "never");
    if (firstNever >= 0) max = Math.min(max, firstNever);
    if (a.rest.k === "never") max = Math.min(max, a.prefix.length);
    if (a.minItems > max)
      return never(
        a.prefix[firstNever]?.k === "never" || a.rest.k === "never" ? "items" : "minItems",
        a.path,
        "minItems cannot be met",
      );
    const ws = this.ws();
    if (max === 0) return seq(lit("["), ws, lit("]"));
    const restItem = a.prefix.length < max ? element(a.prefix.length) : undefined;
    let restRule: string | undefined;
    const next = (): Expr => {
      restRule ??= this.g.reserve(`${name}-next`);
      return ref(restRule);
    };
    // Elements after the i-th (i >= 1 already written), each preceded by a comma.
    const after = (i: number): Expr => {
      if (i >= max) return EMPTY;
      if (i >= a.prefix.length) {
        const lo = Math.max(a.minItems - i, 0);
        return rep(next(), lo, max === Infinity ? null : max - i);
      }
      const one = seq(lit(","), ws, element(i), after(i + 1));
      return i < a.minItems ? one : opt(one);
    };
    const body = seq(a.prefix.length > 0 ? element(0) : restItem!, after(1), ws);
    if (restRule) this.g.define(restRule, seq(lit(","), ws, restItem!));
    return seq(lit("["), ws, a.minItems > 0 ? body : opt(body), lit("]"));
  }

  private emitObject(o: ObjectShape, name: string): Expr {
    const ws = this.ws();
    const members: { kv: Expr; required: boolean }[] = [];
    for (const p of o.props) {
      const required = o.required.includes(p.name);
      if (p.node.k === "never") {
        if (required)
          return never(
            p.node.reason.keyword,
            p.node.reason.path,
            `required property "${p.name}" can have no valid value`,
          );
        continue;
      }
      const value = this.emit(p.node, `${name}-${p.name}`);
      const kv = seq(lit(`${JSON.stringify(p.name)}:`), ws, value);
      if (kv.t === "never") {
        if (required) return kv;
        continue;
      }
      members.push({ kv, required });
    }
    // Members not listed: only where additionalProperties allows them or the object lists no
    // properties at all ("closed": none, whatever JSON Schema's default says), at most maxExtras.
    let extra: Expr | undefined;
    if (o.additional.k !== "never" && o.extras !== "closed" && this.maxExtras !== 0) {
      const key = this.extraKey(
        o.props.map((p) => p.name),
        `${name}-key`,
        o.path,
      );
      if (key) extra = seq(key, lit(":"), ws, this.emit(o.additional, `${name}-extra`));
      if (extra?.t === "never") extra = undefined;
    }
    const moreExtras = this.maxExtras === undefined ? null : this.maxExtras - 1;
    const n = members.length;
    // tail(i): members i.. after at least one member was written, each with a leading comma;
    // first(i): members i.. when none was written yet, at least one of them.
    const tails: (string | undefined)[] = [];
    const tail = (i: number, extras: number | null = this.maxExtras ?? null): Expr => {
      if (i === n) return extra ? rep(seq(lit(","), ws, extra), 0, extras) : EMPTY;
      let rule = tails[i];
      if (!rule) {
        rule = tails[i] = this.g.reserve(`${name}-after-${i}`);
        const m = members[i]!;
        const one = seq(lit(","), ws, m.kv);
        this.g.define(rule, m.required ? seq(one, tail(i + 1)) : seq(opt(one), tail(i + 1)));
      }
      return ref(rule);
    };
    const firsts: (string | undefined)[] = [];
    const first = (i: number): Expr => {
      if (i === n) return extra ? seq(extra, tail(n, moreExtras)) : never("properties", o.path, "no member left");
      let rule = firsts[i];
      if (!rule) {
        rule = firsts[i] = this.g.reserve(`${name}-from-${i}`);
        const m = members[i]!;
        const here = seq(m.kv, tail(i + 1));
        this.g.define(rule, m.required ? here : alt(here, first(i + 1)));
      }
      return ref(rule);
    };
    if (n === 0 && !extra) return seq(lit("{"), ws, lit("}"));
    const body = seq(first(0), ws);
    return seq(lit("{"), ws, members.some((m) => m.required) ? body : opt(body), lit("}"));
  }

  /** propertyKey; undefined where its automaton is too large and unsupported keywords are dropped. */
  private extraKey(listed: string[], hint: string, path: string): Expr | undefined {
    try {
      return this.propertyKey(listed, hint, path);
    } catch (error) {
      if (!this.compiler.dropping || !(error instanceof UnsupportedSchemaError)) throw error;
      this.compiler.drop(error);
      return undefined;
    }
  }

  /** A member name other than the listed ones (a listed name must carry its own schema). */
  private propertyKey(listed: string[], hint: string, path: string): Expr {
    const cap = this.maxStringLength;
    if (listed.length === 0) return this.anyString();
    // Only names up to the longest listed one need the exclusion automaton; longer ones are free.
    const longest = Math.max(...listed.map((n) => [...n].length));
    const parts: Expr[] = [];
    try {
      const short = minimize(intersectDfa(excludeStrings(listed), lengthDfa(0, Math.min(longest, cap ?? longest))));
      if (!isEmptyLanguage(short)) parts.push(this.emitDfa(short, hint));
    } catch (e) {
      if (e instanceof RegexError)
        throw new UnsupportedSchemaError("properties", path, `too many property names: ${e.message}`);
      throw e;
    }
    if (cap === undefined || cap > longest)
      parts.push(seq(lit('"'), rep(this.char(), longest + 1, cap ?? null), lit('"')));
    return alt(...parts);
  }
}

/**
 * GBNF for llama.cpp (`llama.createGrammar({grammar})`) accepting exactly the JSON texts that
 * are one value valid against `schema`, with no leading or trailing whitespace: once the value is
 * complete, the grammar allows only end-of-generation.
 * @throws UnsupportedSchemaError for anything it cannot enforce exactly.
 */
export function jsonSchemaToGbnf(schema: unknown, options: JsonSchemaToGbnfOptions = {}): string {
  const part: SchemaPart = { schema, strict: options.strict ?? false, unsupported: options.unsupported };
  return composeJsonSchemasGbnf([part], ([value]) => value!, options);
}

export interface SchemaPart {
  schema: unknown;
  strict: boolean;
  /** As JsonSchemaToGbnfOptions.unsupported; default "refuse". */
  unsupported?: "refuse" | "drop";
}

/** Thrown by composeJsonSchemasGbnf: which schema could not be enforced, and why. */
export class UnsupportedSchemaPartError extends Error {
  constructor(
    readonly part: number,
    readonly schemaError: UnsupportedSchemaError,
  ) {
    super(schemaError.message);
  }
}

/**
 * One grammar over several schemas (tool calls: one arguments schema per function). `compose`
 * gets an expression for each schema's JSON value and returns the whole text's expression.
 * @throws UnsupportedSchemaPartError naming the first schema that cannot be enforced exactly.
 */
export function composeJsonSchemasGbnf(
  parts: readonly SchemaPart[],
  compose: (values: Expr[]) => Expr,
  options: Pick<JsonSchemaToGbnfOptions, "maxStringLength" | "maxAdditionalProperties" | "onDrop"> = {},
): string {
  const cap = options.maxStringLength;
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 0 || cap > 1_000_000))
    throw new RangeError("maxStringLength must be an integer in 0..1000000");
  const maxExtras = options.maxAdditionalProperties;
  if (maxExtras !== undefined && (!Number.isInteger(maxExtras) || maxExtras < 0 || maxExtras > 1_000_000))
    throw new RangeError("maxAdditionalProperties must be an integer in 0..1000000");
  const g = new GrammarBuilder();
  // Reserved first so that llama.cpp's start rule gets the name it requires.
  const root = g.reserve("root");
  const values = parts.map((part, i) => {
    try {
      const compiler = new SchemaCompiler(part.schema, {
        strict: part.strict,
        unsupported: part.unsupported,
        onDrop: options.onDrop,
      });
      compiler.compileRoot();
      return ref(new Emitter(compiler, cap, maxExtras, g).defRule("#"));
    } catch (error) {
      if (parts.length > 1 && error instanceof UnsupportedSchemaError) throw new UnsupportedSchemaPartError(i, error);
      throw error;
    }
  });
  g.define(root, compose(values));
  try {
    return g.print(root);
  } catch (error) {
    // Printing finds schemas with no finite value; which one is in the error's path only.
    if (parts.length > 1 && error instanceof UnsupportedSchemaError) throw new UnsupportedSchemaPartError(-1, error);
    throw error;
  }
}

/** Any JSON object: the grammar for `response_format: {type: "json_object"}`. */
export const JSON_OBJECT_GBNF: string = jsonSchemaToGbnf({ type: "object" });
