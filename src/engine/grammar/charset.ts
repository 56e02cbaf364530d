// Sets of Unicode code points as sorted, disjoint, non-adjacent inclusive ranges.
//
// Regex classes, DFA transitions and GBNF character classes are all expressed in these, so that
// set algebra (complement of `[^...]`, intersection of two patterns' transitions) is exact.

export type Range = readonly [lo: number, hi: number];
export type CharSet = readonly Range[];

export const MAX_CODE_POINT = 0x10ffff;

export const EMPTY: CharSet = [];
export const ALL: CharSet = [[0, MAX_CODE_POINT]];

/** UTF-16 surrogates are not characters: no valid UTF-8 text contains them. */
export const SURROGATES: CharSet = [[0xd800, 0xdfff]];

export function range(lo: number, hi: number = lo): CharSet {
  return lo <= hi ? [[lo, hi]] : EMPTY;
}

export function chars(text: string): CharSet {
  return union(...[...text].map((c) => range(c.codePointAt(0)!)));
}

export function isEmpty(set: CharSet): boolean {
  return set.length === 0;
}

export function has(set: CharSet, cp: number): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = set[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

function normalize(ranges: Range[]): CharSet {
  ranges.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function union(...sets: CharSet[]): CharSet {
  return normalize(sets.flatMap((s) => s.map(([lo, hi]) => [lo, hi] as Range)));
}

export function complement(set: CharSet): CharSet {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function intersect(a: CharSet, b: CharSet): CharSet {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

export function subtract(a: CharSet, b: CharSet): CharSet {
  return intersect(a, complement(b));
}

export function equals(a: CharSet, b: CharSet): boolean {
  return a.length === b.length && a.every(([lo, hi], i) => lo === b[i]![0] && hi === b[i]![1]);
}
