// A small GBNF builder: expressions as data, then pruning, checks and printing.
//
// Why not concatenate strings: the schema converter needs to know which rules can finish
// (a recursive definition with no finite instance would let generation run forever), to reject
// left recursion (llama.cpp refuses it with only "Failed to parse grammar"), and to keep clear of
// llama.cpp's repetition limits: in the bundled parser a bound above 2000 in `x{m,n}` silently
// becomes unbounded, and a repeated group multiplies its inner rule count against a 2000 cap.
// Printing therefore only ever repeats a single literal, character class or rule reference, with
// counts of at most 2000, and splits larger counts exactly.
import * as cs from "./charset.js";
import type { CharSet } from "./charset.js";
import { UnsupportedSchemaError } from "./errors.js";

/** Why an expression matches nothing: reported when the whole schema turns out unsatisfiable. */
export interface Reason {
  keyword: string;
  path: string;
  message: string;
}

export type Expr =
  | { readonly t: "lit"; readonly text: string }
  | { readonly t: "cls"; readonly set: CharSet }
  | { readonly t: "ref"; readonly name: string }
  | { readonly t: "seq"; readonly items: readonly Expr[] }
  | { readonly t: "alt"; readonly items: readonly Expr[] }
  | { readonly t: "rep"; readonly item: Expr; readonly min: number; readonly max: number | null }
  | { readonly t: "never"; readonly reason: Reason };

export const EMPTY: Expr = { t: "seq", items: [] };

const isEmpty = (e: Expr): boolean => e.t === "seq" && e.items.length === 0;

export function never(keyword: string, path: string, message: string): Expr {
  return { t: "never", reason: { keyword, path, message } };
}

export function lit(text: string): Expr {
  return text === "" ? EMPTY : { t: "lit", text };
}

/** Surrogates are left out of every class: llama.cpp would accept CESU-8 bytes for them. */
export function cls(set: CharSet): Expr {
  const clean = cs.subtract(set, cs.SURROGATES);
  return cs.isEmpty(clean) ? never("schema", "#", "empty character set") : { t: "cls", set: clean };
}

export function ref(name: string): Expr {
  return { t: "ref", name };
}

export function seq(...parts: Expr[]): Expr {
  const items: Expr[] = [];
  for (const p of parts) {
    if (p.t === "never") return p;
    for (const e of p.t === "seq" ? p.items : [p]) {
      const last = items[items.length - 1];
      if (e.t === "lit" && last?.t === "lit") items[items.length - 1] = { t: "lit", text: last.text + e.text };
      else items.push(e);
    }
  }
  return items.length === 1 ? items[0]! : { t: "seq", items };
}

export function alt(...parts: Expr[]): Expr {
  const items: Expr[] = [];
  const seen = new Set<string>();
  let firstNever: Expr | undefined;
  let hasEmpty = false;
  for (const p of parts)
    for (const e of p.t === "alt" ? p.items : [p]) {
      if (e.t === "never") firstNever ??= e;
      else if (isEmpty(e)) hasEmpty = true;
      else {
        const key = JSON.stringify(e);
        if (!seen.has(key)) {
          seen.add(key);
          items.push(e);
        }
      }
    }
  if (items.length === 0) return hasEmpty ? EMPTY : (firstNever ?? never("schema", "#", "no alternative"));
  const body: Expr = items.length === 1 ? items[0]! : { t: "alt", items };
  return hasEmpty ? rep(body, 0, 1) : body;
}

export function rep(item: Expr, min: number, max: number | null): Expr {
  if (max === 0 || isEmpty(item)) return EMPTY;
  if (item.t === "never") return min === 0 ? EMPTY : item;
  if (min === 1 && max === 1) return item;
  return { t: "rep", item, min, max };
}

export function opt(item: Expr): Expr {
  return rep(item, 0, 1);
}

// llama.cpp's MAX_REPETITION_THRESHOLD.
const REPEAT_LIMIT = 2000;
const BLOCK = 1000;
/** The largest count printGrammar can split exactly (BLOCK * REPEAT_LIMIT). */
export const MAX_REPEAT_COUNT = 1_000_000;

export class GrammarBuilder {
  private readonly rules = new Map<string, Expr | null>();
  /** The schema location of rules that stand for a definition, for error messages. */
  private readonly origins = new Map<string, string>();

  /** A fresh rule name derived from `hint`; define it later (rules may refer to themselves). */
  reserve(hint: string, origin?: string): string {
    const base =
      hint
        .replace(/[^a-zA-Z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .replace(/^-|-$/g, "")
        .slice(0, 60)
        .replace(/-$/, "") || "r";
    let name = base;
    for (let k = 2; this.rules.has(name); k++) name = `${base}-${k}`;
    this.rules.set(name, null);
    if (origin !== undefined) this.origins.set(name, origin);
    return name;
  }

  define(name: string, body: Expr): void {
    this.rules.set(name, body);
  }

  has(name: string): boolean {
    return this.rules.has(name);
  }

  /** Prunes what cannot finish, checks, and prints the grammar with `root` as the start rule. */
  print(root: string): string {
    const rules = new Map<string, Expr>();
    for (const [name, body] of this.rules) {
      if (body === null) throw new Error(`internal: grammar rule ${name} was never defined`);
      rules.set(name, body);
    }
    const productive = productiveRules(rules);
    if (!productive.has(root)) {
      const r = findReason(rules, root) ?? {
        keyword: "$ref",
        path: this.originAmong(reachableRules(rules, root)),
        message: "recursive definitions that admit no finite value",
      };
      throw new UnsupportedSchemaError(r.keyword, r.path, `no JSON value satisfies the schema: ${r.message}`);
    }
    const pruned = new Map<string, Expr>();
    for (const [name, body] of rules) if (productive.has(name)) pruned.set(name, prune(body, productive, rules));
    const reachable = reachableRules(pruned, root);
    for (const name of [...pruned.keys()]) if (!reachable.has(name)) pruned.delete(name);
    const cycle = leftRecursion(pruned);
    if (cycle)
      throw new UnsupportedSchemaError(
        "$ref",
        this.originAmong(cycle),
        "a definition refers to itself before matching any character (left recursion)",
      );
    inlineTrivial(pruned, root);
    return new Printer(pruned, (hint) => this.reserve(hint)).print(root);
  }

  /** The most specific schema location among rules: a named definition rather than the root. */
  private originAmong(names: Iterable<string>): string {
    const found = [...names].map((n) => this.origins.get(n)).filter((o) => o !== undefined);
    return found.find((o) => o !== "#") ?? found[0] ?? "#";
  }
}

function visitRefs(e: Expr, f: (name: string) => void): void {
  switch (e.t) {
    case "ref":
      f(e.name);
      break;
    case "seq":
    case "alt":
      e.items.forEach((i) => visitRefs(i, f));
      break;
    case "rep":
      visitRefs(e.item, f);
      break;
    default:
  }
}

/** Rules from which some finite text can be derived (worklist: a long chain takes one pass). */
function productiveRules(rules: Map<string, Expr>): Set<string> {
  return fixpoint(rules, (e, ok) => {
    const test = (x: Expr): boolean => {
      switch (x.t) {
        case "lit":
        case "cls":
          return true;
        case "never":
          return false;
        case "ref":
          return ok.has(x.name);
        case "seq":
          return x.items.every(test);
        case "alt":
          return x.items.some(test);
        case "rep":
          return x.min === 0 || test(x.item);
      }
    };
    return test(e);
  });
}

/** The least set of rules closed under `holds`, re-testing a rule only when one it uses joins. */
function fixpoint(rules: Map<string, Expr>, holds: (body: Expr, set: Set<string>) => boolean): Set<string> {
  const users = new Map<string, string[]>();
  for (const [name, body] of rules)
    visitRefs(body, (r) => {
      const list = users.get(r) ?? [];
      list.push(name);
      users.set(r, list);
    });
  const set = new Set<string>();
  const queue = [...rules.keys()];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (set.has(name) || !holds(rules.get(name)!, set)) continue;
    set.add(name);
    for (const u of users.get(name) ?? []) if (!set.has(u)) queue.push(u);
  }
  return set;
}

function findReason(rules: Map<string, Expr>, root: string): Reason | undefined {
  const seen = new Set<string>();
  const walk = (e: Expr): Reason | undefined => {
    switch (e.t) {
      case "never":
        return e.reason;
      case "ref":
        if (seen.has(e.name)) return undefined;
        seen.add(e.name);
        return walk(rules.get(e.name)!);
      case "seq":
      case "alt":
        for (const i of e.items) {
          const r = walk(i);
          if (r) return r;
        }
        return undefined;
      case "rep":
        return walk(e.item);
      default:
        return undefined;
    }
  };
  return walk(ref(root));
}

function prune(e: Expr, productive: Set<string>, rules: Map<string, Expr>): Expr {
  switch (e.t) {
    case "ref":
      return productive.has(e.name) ? e : never("$ref", "#", "unproductive recursion");
    case "seq":
      return seq(...e.items.map((i) => prune(i, productive, rules)));
    case "alt":
      return alt(...e.items.map((i) => prune(i, productive, rules)));
    case "rep":
      return rep(prune(e.item, productive, rules), e.min, e.max);
    default:
      return e;
  }
}

function substitute(e: Expr, inline: Map<string, Expr>): Expr {
  switch (e.t) {
    case "ref": {
      // Inlined bodies may refer to other inlined rules: substitute through the chain.
      const body = inline.get(e.name);
      return body ? substitute(body, inline) : e;
    }
    case "seq":
      return seq(...e.items.map((i) => substitute(i, inline)));
    case "alt":
      return alt(...e.items.map((i) => substitute(i, inline)));
    case "rep":
      return rep(substitute(e.item, inline), e.min, e.max);
    default:
      return e;
  }
}

/**
 * Replaces references to rules that are empty, a single terminal or an alias of another rule by
 * their body; a root that is an alias takes over the aliased rule.
 */
function inlineTrivial(rules: Map<string, Expr>, root: string): void {
  for (;;) {
    const rootBody = rules.get(root)!;
    if (rootBody.t === "ref" && rootBody.name !== root) {
      const target = rootBody.name;
      rules.set(root, rules.get(target)!);
      rules.delete(target);
      const rename = new Map([[target, ref(root)]]);
      for (const [name, body] of rules) rules.set(name, substitute(body, rename));
      continue;
    }
    const inline = new Map<string, Expr>();
    for (const [name, body] of rules)
      if (name !== root && !inline.has(name)) {
        const trivial = isEmpty(body) || body.t === "lit" || body.t === "cls";
        const alias = body.t === "ref" && body.name !== name;
        if (trivial || alias) inline.set(name, body);
      }
    if (inline.size === 0) return;
    for (const name of inline.keys()) rules.delete(name);
    for (const [name, body] of rules) rules.set(name, substitute(body, inline));
  }
}

function reachableRules(rules: Map<string, Expr>, root: string): Set<string> {
  const seen = new Set([root]);
  const stack = [root];
  while (stack.length > 0)
    visitRefs(rules.get(stack.pop()!)!, (n) => {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    });
  return seen;
}

/** Rules on a cycle reachable without consuming a character, if any. */
function leftRecursion(rules: Map<string, Expr>): string[] | undefined {
  let nullable = new Set<string>();
  const canBeEmpty = (e: Expr): boolean => {
    switch (e.t) {
      case "lit":
      case "cls":
      case "never":
        return false;
      case "ref":
        return nullable.has(e.name);
      case "seq":
        return e.items.every(canBeEmpty);
      case "alt":
        return e.items.some(canBeEmpty);
      case "rep":
        return e.min === 0 || canBeEmpty(e.item);
    }
  };
  nullable = fixpoint(rules, (body, set) => {
    nullable = set;
    return canBeEmpty(body);
  });
  const leading = (e: Expr, out: Set<string>): void => {
    switch (e.t) {
      case "ref":
        out.add(e.name);
        break;
      case "seq":
        for (const i of e.items) {
          leading(i, out);
          if (!canBeEmpty(i)) break;
        }
        break;
      case "alt":
        e.items.forEach((i) => leading(i, out));
        break;
      case "rep":
        leading(e.item, out);
        break;
      default:
    }
  };
  const graph = new Map<string, Set<string>>();
  for (const [name, body] of rules) {
    const out = new Set<string>();
    leading(body, out);
    graph.set(name, out);
  }
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const dfs = (n: string): string[] | undefined => {
    state.set(n, 1);
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 1) return path.slice(path.indexOf(m));
      if (!state.has(m)) {
        const found = dfs(m);
        if (found) return found;
      }
    }
    path.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of graph.keys())
    if (!state.has(n)) {
      const found = dfs(n);
      if (found) return found;
    }
  return undefined;
}

function hex(cp: number): string {
  if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return `\\U${cp.toString(16).toUpperCase().padStart(8, "0")}`;
}

function literalText(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else out += hex(cp);
  }
  return `${out}"`;
}

function classChar(cp: number): string {
  const plain = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  return plain ? String.fromCodePoint(cp) : hex(cp);
}

function classText(set: CharSet): string {
  let out = "[";
  for (const [lo, hi] of set) {
    out += classChar(lo);
    if (hi === lo + 1) out += classChar(hi);
    else if (hi > lo) out += `-${classChar(hi)}`;
  }
  return `${out}]`;
}

class Printer {
  private readonly lines: string[] = [];
  private readonly pending: [string, Expr][] = [];
  private readonly blocks = new Map<string, string>();

  constructor(
    private readonly rules: Map<string, Expr>,
    private readonly reserve: (hint: string) => string,
  ) {}

  print(root: string): string {
    this.pending.push([root, this.rules.get(root)!]);
    for (const [name, body] of this.rules) if (name !== root) this.pending.push([name, body]);
    for (let k = 0; k < this.pending.length; k++) {
      const [name, body] = this.pending[k]!;
      this.lines.push(`${name} ::= ${this.expr(body, name, "top")}`);
    }
    return `${this.lines.join("\n")}\n`;
  }

  private readonly helpers = new Map<string, string>();

  private helper(hint: string, body: Expr): string {
    const key = JSON.stringify(body);
    let name = this.helpers.get(key);
    if (!name) {
      name = this.reserve(hint);
      this.helpers.set(key, name);
      this.pending.push([name, body]);
    }
    return name;
  }

  private expr(e: Expr, owner: string, where: "top" | "seq" | "alt"): string {
    switch (e.t) {
      case "lit":
        return literalText(e.text);
      case "cls":
        return classText(e.set);
      case "ref":
        return e.name;
      case "seq": {
        if (e.items.length === 0) return '""';
        return e.items.map((i) => this.expr(i, owner, "seq")).join(" ");
      }
      case "alt": {
        const text = e.items.map((i) => this.expr(i, owner, "alt")).join(" | ");
        return where === "top" ? text : `(${text})`;
      }
      case "rep":
        return this.repeat(e.item, e.min, e.max, owner);
      case "never":
        throw new Error("internal: unpruned never in grammar");
    }
  }

  /** `item{min,max}` using only counts llama.cpp honours exactly. */
  private repeat(item: Expr, min: number, max: number | null, owner: string): string {
    const atom =
      item.t === "lit" || item.t === "cls" || item.t === "ref"
        ? this.expr(item, owner, "seq")
        : this.helper(`${owner}-item`, item);
    if (min > REPEAT_LIMIT || (max !== null && max > REPEAT_LIMIT)) {
      const text = this.split(atom, min, max, owner);
      return text.startsWith("(") ? text : `(${text})`;
    }
    return atom + suffix(min, max);
  }

  private block(atom: string, owner: string): string {
    let name = this.blocks.get(atom);
    if (!name) {
      name = this.reserve(`${owner}-block`);
      this.lines.push(`${name} ::= ${atom}{${BLOCK}}`);
      this.blocks.set(atom, name);
    }
    return name;
  }

  private split(atom: string, min: number, max: number | null, owner: string): string {
    if (min > MAX_REPEAT_COUNT || (max !== null && max > MAX_REPEAT_COUNT))
      throw new Error(`internal: repetition count above ${MAX_REPEAT_COUNT}`);
    const blk = this.block(atom, owner);
    const exact = (n: number): string => {
      const parts = [];
      if (Math.floor(n / BLOCK) > 0) parts.push(`${blk}{${Math.floor(n / BLOCK)}}`);
      if (n % BLOCK > 0) parts.push(`${atom}{${n % BLOCK}}`);
      return parts.join(" ");
    };
    const upTo = (n: number): string => {
      if (n <= REPEAT_LIMIT) return `${atom}{0,${n}}`;
      const q = Math.floor(n / BLOCK);
      const r = n % BLOCK;
      // Lengths 0..qB-1 as (blocks, remainder < B), then qB..qB+r: every count once.
      return `(${blk}{0,${q - 1}} ${atom}{0,${BLOCK - 1}} | ${blk}{${q}}${r > 0 ? ` ${atom}{0,${r}}` : ""})`;
    };
    const head = min > 0 ? exact(min) : "";
    const tail = max === null ? `${atom}*` : max > min ? upTo(max - min) : "";
    return [head, tail].filter((s) => s !== "").join(" ") || '""';
  }
}

function suffix(min: number, max: number | null): string {
  if (max === null) return min === 0 ? "*" : min === 1 ? "+" : `{${min},}`;
  if (min === 0 && max === 1) return "?";
  return min === max ? `{${min}}` : `{${min},${max}}`;
}
