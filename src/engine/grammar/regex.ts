// Regular expressions (a documented subset of ECMAScript's) compiled to DFAs over code points.
//
// Why DFAs rather than translating a pattern to GBNF text directly: a string schema often carries
// several constraints at once (zod emits `format` *and* `pattern`; `pattern` with `maxLength` is
// common), and the grammar must accept only strings satisfying all of them. Regular languages are
// closed under intersection, so each constraint becomes a DFA, the DFAs are intersected, and the
// result becomes one GBNF rule per state. A DFA also gives a deterministic grammar: llama.cpp keeps
// one parse stack per ambiguity, and ambiguous regex translations multiply them.
import * as cs from "./charset.js";
import type { CharSet } from "./charset.js";

/** A pattern outside the supported subset, or one too large to compile. */
export class RegexError extends Error {}

type RNode =
  | { t: "set"; set: CharSet }
  | { t: "seq"; items: RNode[] }
  | { t: "alt"; items: RNode[] }
  | { t: "rep"; item: RNode; min: number; max: number | null }
  | { t: "bol" }
  | { t: "eol" };

const DIGIT = cs.range(0x30, 0x39);
const WORD = cs.union(DIGIT, cs.range(0x41, 0x5a), cs.range(0x61, 0x7a), cs.range(0x5f));
// ECMAScript WhiteSpace and LineTerminator: what \s matches.
const SPACE = cs.union(
  cs.range(0x09, 0x0d),
  cs.range(0x20),
  cs.range(0xa0),
  cs.range(0x1680),
  cs.range(0x2000, 0x200a),
  cs.range(0x2028, 0x2029),
  cs.range(0x202f),
  cs.range(0x205f),
  cs.range(0x3000),
  cs.range(0xfeff),
);
// `.` without the s flag: anything but a line terminator.
const DOT = cs.complement(cs.union(cs.range(0x0a), cs.range(0x0d), cs.range(0x2028, 0x2029)));

const CH = (c: string): number => c.codePointAt(0)!;
const isDigit = (cp: number | undefined): boolean => cp !== undefined && cp >= 0x30 && cp <= 0x39;
const isAsciiAlnum = (cp: number): boolean =>
  (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);

class Parser {
  private readonly cps: number[];
  private i = 0;

  constructor(private readonly source: string) {
    this.cps = [...source].map(CH);
  }

  parse(): RNode {
    const node = this.alternation();
    if (this.i < this.cps.length) this.fail(`unbalanced ")"`);
    return node;
  }

  private fail(message: string): never {
    throw new RegexError(`${message} at index ${this.i} of /${this.source}/`);
  }

  private peek(offset = 0): number | undefined {
    return this.cps[this.i + offset];
  }

  private alternation(): RNode {
    const items = [this.sequence()];
    while (this.peek() === CH("|")) {
      this.i++;
      items.push(this.sequence());
    }
    if (items.length === 1) return items[0]!;
    // a|b|c is [abc]: one transition instead of one NFA branch per letter.
    if (items.every((i) => i.t === "set"))
      return { t: "set", set: cs.union(...items.map((i) => (i as { set: CharSet }).set)) };
    return { t: "alt", items };
  }

  private sequence(): RNode {
    const items: RNode[] = [];
    for (let c = this.peek(); c !== undefined && c !== CH("|") && c !== CH(")"); c = this.peek()) {
      const atom = this.atom();
      const q = this.quantifier();
      if (q) {
        if (atom.t === "bol" || atom.t === "eol") this.fail("quantified assertion");
        items.push({ t: "rep", item: atom, min: q.min, max: q.max });
      } else {
        items.push(atom);
      }
    }
    return items.length === 1 ? items[0]! : { t: "seq", items };
  }

  private quantifier(): { min: number; max: number | null } | undefined {
    const c = this.peek();
    let q: { min: number; max: number | null } | undefined;
    if (c === CH("*")) q = { min: 0, max: null };
    else if (c === CH("+")) q = { min: 1, max: null };
    else if (c === CH("?")) q = { min: 0, max: 1 };
    if (q) this.i++;
    else if (c === CH("{")) q = this.braces();
    if (!q) return undefined;
    // Laziness changes which match is found, never whether one exists: same language.
    if (this.peek() === CH("?")) this.i++;
    const next = this.peek();
    if (next === CH("*") || next === CH("+") || next === CH("?") || (next === CH("{") && this.looksLikeBraces()))
      this.fail("nothing to repeat");
    return q;
  }

  private looksLikeBraces(): boolean {
    const save = this.i;
    try {
      return this.bracesOrUndefined() !== undefined;
    } finally {
      this.i = save;
    }
  }

  private bracesOrUndefined(): { min: number; max: number | null } | undefined {
    const start = this.i;
    this.i++;
    const readInt = (): number | undefined => {
      let text = "";
      while (isDigit(this.peek())) text += String.fromCodePoint(this.cps[this.i++]!);
      return text === "" ? undefined : Number(text);
    };
    const min = readInt();
    let max: number | null | undefined = min;
    if (min !== undefined && this.peek() === CH(",")) {
      this.i++;
      max = readInt() ?? null;
    }
    if (min === undefined || this.peek() !== CH("}")) {
      this.i = start;
      return undefined;
    }
    this.i++;
    return { min, max: max ?? null };
  }

  private braces(): { min: number; max: number | null } {
    const q = this.bracesOrUndefined();
    if (!q) this.fail(`lone "{" (write \\{ for a literal brace)`);
    if (q.max !== null && q.max < q.min) this.fail("quantifier range out of order");
    return q;
  }

  private atom(): RNode {
    const c = this.cps[this.i++]!;
    switch (c) {
      case CH("("):
        return this.group();
      case CH("["):
        return { t: "set", set: this.charClass() };
      case CH("."):
        return { t: "set", set: DOT };
      case CH("^"):
        return { t: "bol" };
      case CH("$"):
        return { t: "eol" };
      case CH("\\"):
        return { t: "set", set: this.escape(false) };
      case CH("*"):
      case CH("+"):
      case CH("?"):
        this.i--;
        return this.fail("nothing to repeat");
      case CH("{"):
        this.i--;
        this.braces();
        return this.fail("nothing to repeat");
      default:
        return { t: "set", set: cs.range(c) };
    }
  }

  private group(): RNode {
    if (this.peek() === CH("?")) {
      const next = this.peek(1);
      if (next === CH(":")) {
        this.i += 2;
      } else if (next === CH("<") && this.peek(2) !== CH("=") && this.peek(2) !== CH("!")) {
        // A named group matches what an unnamed one does; the name only matters to backreferences.
        this.i += 2;
        while (this.peek() !== undefined && this.peek() !== CH(">")) this.i++;
        if (this.peek() === undefined) this.fail("unterminated group name");
        this.i++;
      } else {
        this.fail("lookaround assertions and inline flags are not supported");
      }
    }
    const inner = this.alternation();
    if (this.peek() !== CH(")")) this.fail(`missing ")"`);
    this.i++;
    return inner;
  }

  private charClass(): CharSet {
    let negate = false;
    if (this.peek() === CH("^")) {
      negate = true;
      this.i++;
    }
    const parts: CharSet[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail(`missing "]"`);
      if (c === CH("]")) {
        this.i++;
        break;
      }
      const first = this.classAtom();
      if (this.peek() === CH("-") && this.peek(1) !== CH("]") && this.peek(1) !== undefined) {
        const save = this.i;
        this.i++;
        const second = this.classAtom();
        if (typeof first === "number" && typeof second === "number") {
          if (second < first) this.fail("character class range out of order");
          parts.push(cs.range(first, second));
          continue;
        }
        // A class escape next to "-" makes the "-" literal (Annex B); keep both sides.
        this.i = save;
      }
      parts.push(typeof first === "number" ? cs.range(first) : first);
    }
    const set = cs.union(...parts);
    return negate ? cs.complement(set) : set;
  }

  /** A single code point, or a set for \d \w \s and their negations. */
  private classAtom(): number | CharSet {
    const c = this.cps[this.i++]!;
    if (c !== CH("\\")) return c;
    const e = this.peek();
    if (e === CH("b")) {
      this.i++;
      return 0x08;
    }
    if (e === CH("-")) {
      this.i++;
      return CH("-");
    }
    const set = this.escape(true);
    return set.length === 1 && set[0]![0] === set[0]![1] ? set[0]![0] : set;
  }

  private hex(count: number): number {
    let text = "";
    for (let k = 0; k < count; k++) {
      const c = this.peek();
      if (c === undefined || !/[0-9a-fA-F]/.test(String.fromCodePoint(c))) this.fail("bad hexadecimal escape");
      text += String.fromCodePoint(c);
      this.i++;
    }
    return parseInt(text, 16);
  }

  /** After a backslash. */
  private escape(inClass: boolean): CharSet {
    const c = this.cps[this.i++];
    if (c === undefined) this.fail("trailing backslash");
    switch (String.fromCodePoint(c)) {
      case "d":
        return DIGIT;
      case "D":
        return cs.complement(DIGIT);
      case "w":
        return WORD;
      case "W":
        return cs.complement(WORD);
      case "s":
        return SPACE;
      case "S":
        return cs.complement(SPACE);
      case "t":
        return cs.range(0x09);
      case "n":
        return cs.range(0x0a);
      case "v":
        return cs.range(0x0b);
      case "f":
        return cs.range(0x0c);
      case "r":
        return cs.range(0x0d);
      case "0":
        if (isDigit(this.peek())) this.fail("octal escapes are not supported");
        return cs.range(0);
      case "x":
        return cs.range(this.hex(2));
      case "u": {
        if (this.peek() === CH("{")) {
          this.i++;
          let text = "";
          while (this.peek() !== undefined && this.peek() !== CH("}"))
            text += String.fromCodePoint(this.cps[this.i++]!);
          this.i++;
          if (!/^[0-9a-fA-F]{1,6}$/.test(text) || parseInt(text, 16) > cs.MAX_CODE_POINT)
            this.fail("bad \\u{...} escape");
          return cs.range(parseInt(text, 16));
        }
        const unit = this.hex(4);
        // \uD83D\uDE00 is one astral character, as in a /u regex.
        if (unit >= 0xd800 && unit <= 0xdbff && this.peek() === CH("\\") && this.peek(1) === CH("u")) {
          const save = this.i;
          this.i += 2;
          const low = this.hex(4);
          if (low >= 0xdc00 && low <= 0xdfff) return cs.range(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00));
          this.i = save;
        }
        return cs.range(unit);
      }
      case "c": {
        const letter = this.peek();
        if (letter === undefined || !/[A-Za-z]/.test(String.fromCodePoint(letter))) this.fail("bad \\c escape");
        this.i++;
        return cs.range(letter % 32);
      }
      case "b":
      case "B":
        return this.fail(inClass ? "bad escape" : "word boundary assertions (\\b, \\B) are not supported");
      case "p":
      case "P":
        return this.fail("Unicode property escapes (\\p{...}) are not supported");
      case "k":
        return this.fail("backreferences are not supported");
      default:
        if (isDigit(c)) this.fail("backreferences are not supported");
        if (isAsciiAlnum(c)) this.fail(`unknown escape \\${String.fromCodePoint(c)}`);
        // Identity escape of punctuation (\. \- \/ ...): the character itself.
        return cs.range(c);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Thompson NFA with assertion edges for ^ and $.

const MAX_NFA_STATES = 200_000;
export const MAX_DFA_STATES = 20_000;

class Nfa {
  readonly eps: number[][] = [];
  readonly bol: number[][] = [];
  readonly eol: number[][] = [];
  readonly edges: { set: CharSet; to: number }[][] = [];

  add(): number {
    if (this.eps.length >= MAX_NFA_STATES) throw new RegexError("pattern is too large (repetition counts too high)");
    this.eps.push([]);
    this.bol.push([]);
    this.eol.push([]);
    this.edges.push([]);
    return this.eps.length - 1;
  }

  /** Appends `node` after state `from`; returns the state where it ends. */
  build(node: RNode, from: number): number {
    switch (node.t) {
      case "set": {
        const to = this.add();
        this.edges[from]!.push({ set: node.set, to });
        return to;
      }
      case "bol":
      case "eol": {
        const to = this.add();
        (node.t === "bol" ? this.bol : this.eol)[from]!.push(to);
        return to;
      }
      case "seq":
        return node.items.reduce((at, item) => this.build(item, at), from);
      case "alt": {
        const end = this.add();
        for (const item of node.items) {
          const start = this.add();
          this.eps[from]!.push(start);
          this.eps[this.build(item, start)]!.push(end);
        }
        return end;
      }
      case "rep": {
        let at = from;
        for (let k = 0; k < node.min; k++) at = this.build(node.item, at);
        if (node.max === null) {
          const loop = this.add();
          this.eps[at]!.push(loop);
          this.eps[this.build(node.item, loop)]!.push(loop);
          return loop;
        }
        const end = this.add();
        this.eps[at]!.push(end);
        for (let k = node.min; k < node.max; k++) {
          at = this.build(node.item, at);
          this.eps[at]!.push(end);
        }
        return end;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DFAs.

/** [lo, hi, target]: code points lo..hi go to target. A state's edges are sorted and disjoint. */
export type Edge = readonly [lo: number, hi: number, to: number];

export interface Dfa {
  readonly start: number;
  readonly accept: readonly boolean[];
  readonly edges: readonly (readonly Edge[])[];
}

export const EMPTY_DFA: Dfa = { start: 0, accept: [false], edges: [[]] };

/** Splits the code points covered by some of `sets` into pieces, each with the indexes covering it. */
function partition(sets: readonly CharSet[]): { lo: number; hi: number; members: number[] }[] {
  const points = new Set<number>();
  for (const set of sets)
    for (const [lo, hi] of set) {
      points.add(lo);
      points.add(hi + 1);
    }
  const sorted = [...points].sort((a, b) => a - b);
  const out: { lo: number; hi: number; members: number[] }[] = [];
  for (let k = 0; k + 1 < sorted.length; k++) {
    const lo = sorted[k]!;
    const hi = sorted[k + 1]! - 1;
    const members = sets.flatMap((s, idx) => (cs.has(s, lo) ? [idx] : []));
    if (members.length > 0) out.push({ lo, hi, members });
  }
  return out;
}

function nfaToDfa(nfa: Nfa, start: number, final: number): Dfa {
  const closure = (seeds: Iterable<number>, withBol: boolean, withEol: boolean): number[] => {
    const seen = new Set<number>(seeds);
    const stack = [...seen];
    while (stack.length > 0) {
      const s = stack.pop()!;
      const next = [...nfa.eps[s]!, ...(withBol ? nfa.bol[s]! : []), ...(withEol ? nfa.eol[s]! : [])];
      for (const t of next)
        if (!seen.has(t)) {
          seen.add(t);
          stack.push(t);
        }
    }
    return [...seen].sort((a, b) => a - b);
  };
  const accept: boolean[] = [];
  const edges: Edge[][] = [];
  const ids = new Map<string, number>();
  const queue: { set: number[]; initial: boolean }[] = [];
  const intern = (set: number[], initial: boolean): number => {
    const key = (initial ? "^" : "") + set.join(",");
    let id = ids.get(key);
    if (id === undefined) {
      id = accept.length;
      if (id >= MAX_DFA_STATES) throw new RegexError("pattern is too complex (too many automaton states)");
      ids.set(key, id);
      // `$` only holds at the end of the input: follow it only to decide acceptance, never to
      // consume more characters. `^` only holds before the first character.
      accept.push(closure(set, initial, true).includes(final));
      edges.push([]);
      queue.push({ set, initial });
    }
    return id;
  };
  const startId = intern(closure([start], true, false), true);
  for (let id = 0; id < queue.length; id++) {
    const { set } = queue[id]!;
    const out = set.flatMap((s) => nfa.edges[s]!);
    const pieces = partition(out.map((e) => e.set));
    const row: Edge[] = [];
    for (const piece of pieces) {
      const target = intern(closure(new Set(piece.members.map((m) => out[m]!.to)), false, false), false);
      const last = row[row.length - 1];
      if (last && last[2] === target && last[1] + 1 === piece.lo) row[row.length - 1] = [last[0], piece.hi, target];
      else row.push([piece.lo, piece.hi, target]);
    }
    edges[id] = row;
  }
  return trim({ start: startId, accept, edges });
}

/** Keeps the states that are reachable and can still reach acceptance, renumbered from 0. */
export function trim(d: Dfa): Dfa {
  const n = d.accept.length;
  const reverse: number[][] = Array.from({ length: n }, () => []);
  d.edges.forEach((row, s) => row.forEach(([, , t]) => reverse[t]!.push(s)));
  const live = new Set<number>();
  const stack: number[] = [];
  d.accept.forEach((accepting, state) => {
    if (accepting) {
      live.add(state);
      stack.push(state);
    }
  });
  while (stack.length > 0)
    for (const p of reverse[stack.pop()!]!)
      if (!live.has(p)) {
        live.add(p);
        stack.push(p);
      }
  if (!live.has(d.start)) return EMPTY_DFA;
  const order = [d.start];
  const index = new Map([[d.start, 0]]);
  for (let k = 0; k < order.length; k++)
    for (const [, , t] of d.edges[order[k]!]!)
      if (live.has(t) && !index.has(t)) {
        index.set(t, order.length);
        order.push(t);
      }
  return {
    start: 0,
    accept: order.map((s) => d.accept[s]!),
    edges: order.map((s) =>
      d.edges[s]!.filter(([, , t]) => live.has(t)).map(([lo, hi, t]) => [lo, hi, index.get(t)!] as Edge),
    ),
  };
}

export function isEmptyLanguage(d: Dfa): boolean {
  return !trim(d).accept.some(Boolean);
}

export function intersectDfa(a: Dfa, b: Dfa): Dfa {
  const accept: boolean[] = [];
  const edges: Edge[][] = [];
  const ids = new Map<string, number>();
  const queue: [number, number][] = [];
  const intern = (x: number, y: number): number => {
    const key = `${x},${y}`;
    let id = ids.get(key);
    if (id === undefined) {
      id = accept.length;
      if (id >= MAX_DFA_STATES)
        throw new RegexError("string constraints are too complex to combine (too many automaton states)");
      ids.set(key, id);
      accept.push(a.accept[x]! && b.accept[y]!);
      edges.push([]);
      queue.push([x, y]);
    }
    return id;
  };
  intern(a.start, b.start);
  for (let id = 0; id < queue.length; id++) {
    const [x, y] = queue[id]!;
    const ea = a.edges[x]!;
    const eb = b.edges[y]!;
    const row: Edge[] = [];
    let i = 0;
    let j = 0;
    while (i < ea.length && j < eb.length) {
      const lo = Math.max(ea[i]![0], eb[j]![0]);
      const hi = Math.min(ea[i]![1], eb[j]![1]);
      if (lo <= hi) row.push([lo, hi, intern(ea[i]![2], eb[j]![2])]);
      if (ea[i]![1] < eb[j]![1]) i++;
      else j++;
    }
    edges[id] = row;
  }
  return trim({ start: 0, accept, edges });
}

// Hopcroft's partition refinement over the alphabet classes the automaton distinguishes. Its
// tables take classes × states entries; beyond this the automaton is kept as built (minimality
// only shrinks the grammar, it never changes what it accepts).
const MINIMIZE_TABLE_LIMIT = 4_000_000;

/** Merges equivalent states. */
export function minimize(input: Dfa): Dfa {
  const d = trim(input);
  const live = d.accept.length;
  const points = new Set<number>([0]);
  for (const row of d.edges)
    for (const [lo, hi] of row) {
      points.add(lo);
      if (hi < cs.MAX_CODE_POINT) points.add(hi + 1);
    }
  const bounds = [...points].sort((a, b) => a - b);
  const classes = bounds.length;
  // One extra state, the dead state, makes the automaton complete.
  const n = live + 1;
  const dead = live;
  if (classes * n > MINIMIZE_TABLE_LIMIT) return d;
  const classOf = (cp: number): number => {
    let lo = 0;
    let hi = classes - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bounds[mid]! <= cp) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const delta = new Int32Array(n * classes).fill(dead);
  d.edges.forEach((row, s) => {
    for (const [lo, hi, t] of row)
      for (let c = classOf(lo); c < classes && bounds[c]! <= hi; c++) delta[s * classes + c] = t;
  });
  // Predecessors by class, in compressed rows: sources of (c, t) are invSrc[invStart[c*n+t] ..].
  const invStart = new Int32Array(classes * n + 1);
  for (let s = 0; s < n; s++) for (let c = 0; c < classes; c++) invStart[c * n + delta[s * classes + c]! + 1]!++;
  for (let k = 1; k <= classes * n; k++) invStart[k]! += invStart[k - 1]!;
  const fill = invStart.slice(0, classes * n);
  const invSrc = new Int32Array(n * classes);
  for (let s = 0; s < n; s++) for (let c = 0; c < classes; c++) invSrc[fill[c * n + delta[s * classes + c]!]!++] = s;

  // Refinable partition: each block is elems[first..end), its marked states at [first..mid).
  const elems = new Int32Array(n);
  const loc = new Int32Array(n);
  const blockOf = new Int32Array(n);
  const first: number[] = [];
  const end: number[] = [];
  const mid: number[] = [];
  let k = 0;
  for (const accepting of [true, false]) {
    const start = k;
    for (let s = 0; s < n; s++)
      if ((s < live && d.accept[s]!) === accepting) {
        elems[k] = s;
        loc[s] = k;
        blockOf[s] = first.length;
        k++;
      }
    if (k > start) {
      first.push(start);
      end.push(k);
      mid.push(start);
    }
  }
  const inWork = first.map(() => true);
  const work = first.map((_, b) => b);
  while (work.length > 0) {
    const a = work.pop()!;
    inWork[a] = false;
    const splitter = elems.slice(first[a], end[a]);
    for (let c = 0; c < classes; c++) {
      const touched: number[] = [];
      for (const t of splitter)
        for (let i = invStart[c * n + t]!; i < invStart[c * n + t + 1]!; i++) {
          const s = invSrc[i]!;
          const b = blockOf[s]!;
          if (loc[s]! < mid[b]!) continue;
          if (mid[b] === first[b]) touched.push(b);
          const other = elems[mid[b]!]!;
          elems[loc[s]!] = other;
          loc[other] = loc[s]!;
          elems[mid[b]!] = s;
          loc[s] = mid[b]!;
          mid[b]!++;
        }
      for (const b of touched) {
        if (mid[b] === end[b]) {
          mid[b] = first[b]!;
          continue;
        }
        const nb = first.length;
        first.push(first[b]!);
        end.push(mid[b]!);
        mid.push(first[b]!);
        for (let i = first[nb]!; i < end[nb]!; i++) blockOf[elems[i]!] = nb;
        first[b] = mid[b]!;
        if (inWork[b]) {
          work.push(nb);
          inWork.push(true);
        } else {
          const smaller = end[nb]! - first[nb]! <= end[b]! - first[b]! ? nb : b;
          inWork.push(false);
          inWork[smaller] = true;
          work.push(smaller);
        }
      }
    }
  }
  const count = first.length;
  const accept = new Array<boolean>(count).fill(false);
  const edges: Edge[][] = Array.from({ length: count }, () => []);
  for (let b = 0; b < count; b++) {
    const s = elems[first[b]!]!;
    if (s === dead) continue;
    accept[b] = d.accept[s]!;
    const row: Edge[] = [];
    for (const [lo, hi, t] of d.edges[s]!) {
      const last = row[row.length - 1];
      if (last && last[2] === blockOf[t] && last[1] + 1 === lo) row[row.length - 1] = [last[0], hi, last[2]];
      else row.push([lo, hi, blockOf[t]!]);
    }
    edges[b] = row;
  }
  return trim({ start: blockOf[d.start]!, accept, edges });
}

/** Shortest and longest accepted lengths (longest is Infinity when a loop can be taken). */
export function lengthBounds(input: Dfa): { min: number; max: number } {
  const d = trim(input);
  if (!d.accept.some(Boolean)) return { min: Infinity, max: -Infinity };
  const dist = new Map([[d.start, 0]]);
  const queue = [d.start];
  let min = Infinity;
  for (let k = 0; k < queue.length; k++) {
    const s = queue[k]!;
    if (d.accept[s]) min = Math.min(min, dist.get(s)!);
    for (const [, , t] of d.edges[s]!)
      if (!dist.has(t)) {
        dist.set(t, dist.get(s)! + 1);
        queue.push(t);
      }
  }
  // Longest path in the (trimmed, hence all-live) graph; a cycle means unbounded. Kahn's order
  // rather than recursion: a long chain (\d{15000}) would overflow the stack.
  const n = d.accept.length;
  const indegree = new Array<number>(n).fill(0);
  d.edges.forEach((row) => row.forEach(([, , t]) => indegree[t]!++));
  const order: number[] = [];
  for (let s = 0; s < n; s++) if (indegree[s] === 0) order.push(s);
  for (let k = 0; k < order.length; k++)
    for (const [, , t] of d.edges[order[k]!]!) if (--indegree[t]! === 0) order.push(t);
  if (order.length < n) return { min, max: Infinity };
  const longest = new Array<number>(n).fill(-Infinity);
  for (let k = n - 1; k >= 0; k--) {
    const s = order[k]!;
    let best = d.accept[s] ? 0 : -Infinity;
    for (const [, , t] of d.edges[s]!) best = Math.max(best, 1 + longest[t]!);
    longest[s] = best;
  }
  return { min, max: longest[d.start]! };
}

export function matches(d: Dfa, text: string): boolean {
  let s = d.start;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const edge = d.edges[s]!.find(([lo, hi]) => cp >= lo && cp <= hi);
    if (!edge) return false;
    s = edge[2];
  }
  return d.accept[s]!;
}

/** Strings of min..max characters (any characters). */
export function lengthDfa(min: number, max: number | null): Dfa {
  const states = max ?? min;
  const accept: boolean[] = [];
  const edges: Edge[][] = [];
  for (let s = 0; s <= states; s++) {
    accept.push(s >= min);
    if (s < states) edges.push([[0, cs.MAX_CODE_POINT, s + 1]]);
    else edges.push(max === null ? [[0, cs.MAX_CODE_POINT, s]] : []);
  }
  return { start: 0, accept, edges };
}

/** Every string except the given ones. */
export function excludeStrings(words: readonly string[]): Dfa {
  const children: Map<number, number>[] = [new Map()];
  const isWord: boolean[] = [false];
  for (const w of words) {
    let s = 0;
    for (const ch of w) {
      const cp = ch.codePointAt(0)!;
      let t = children[s]!.get(cp);
      if (t === undefined) {
        t = children.length;
        children.push(new Map());
        isWord.push(false);
        children[s]!.set(cp, t);
      }
      s = t;
    }
    isWord[s] = true;
  }
  const sink = children.length;
  const edges: Edge[][] = children.map((kids) => {
    const row: Edge[] = [];
    const explicit = [...kids.entries()].sort((a, b) => a[0] - b[0]);
    const covered = cs.union(...explicit.map(([cp]) => cs.range(cp)));
    for (const [cp, t] of explicit) row.push([cp, cp, t]);
    for (const [lo, hi] of cs.complement(covered)) row.push([lo, hi, sink]);
    return row.sort((a, b) => a[0] - b[0]);
  });
  edges.push([[0, cs.MAX_CODE_POINT, sink]]);
  return trim({ start: 0, accept: [...isWord.map((w) => !w), true], edges });
}

const cache = new Map<string, Dfa>();

/**
 * The strings in which `source` finds a match (JSON Schema's `pattern` is a search, not a full
 * match: anchor with ^...$ to constrain the whole string).
 */
export function compilePattern(source: string): Dfa {
  const known = cache.get(source);
  if (known) return known;
  const ast = new Parser(source).parse();
  const nfa = new Nfa();
  const start = nfa.add();
  nfa.edges[start]!.push({ set: cs.ALL, to: start });
  const body = nfa.add();
  nfa.eps[start]!.push(body);
  const end = nfa.build(ast, body);
  const final = nfa.add();
  nfa.eps[end]!.push(final);
  nfa.edges[final]!.push({ set: cs.ALL, to: final });
  const dfa = minimize(nfaToDfa(nfa, start, final));
  if (cache.size > 256) cache.clear();
  cache.set(source, dfa);
  return dfa;
}

// ---------------------------------------------------------------------------------------------
// String formats, written in the same regex dialect. Each accepts a subset of what RFC 3339 /
// RFC 4122 (and ajv-formats) accept; the subset only drops spellings a generator never needs:
// lowercase "t"/"z", leap seconds, more than 9 fraction digits, and "urn:uuid:" prefixes.

const LEAP_YEAR = "(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:0[048]|[2468][048]|[13579][26])00)";
const DATE =
  "(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))" +
  `|${LEAP_YEAR}-02-29)`;
const TIME = "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,9})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)";

export const FORMAT_PATTERNS: Readonly<Record<string, string>> = {
  date: `^${DATE}$`,
  time: `^${TIME}$`,
  "date-time": `^${DATE}T${TIME}$`,
  uuid: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
};
