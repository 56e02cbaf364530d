// The regex → DFA compiler behind `pattern` and `format`, checked against JavaScript's own /u
// regexes and ajv-formats on many strings near known matches (no model needed).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fullFormats } from "ajv-formats/dist/formats.js";
import {
  compilePattern,
  excludeStrings,
  FORMAT_PATTERNS,
  intersectDfa,
  isEmptyLanguage,
  lengthBounds,
  lengthDfa,
  matches,
  minimize,
  RegexError,
} from "../../../src/engine/grammar/regex.js";
import { rng } from "../../helpers/rng.js";

/** Strings a few random edits away from the samples, over the samples' characters and some others. */
function neighbours(samples: string[], count: number, seed: number): string[] {
  const random = rng(seed);
  const alphabet = [...new Set([...samples.join(""), ..."aZ09 -.\n\t_!é😀"])];
  const out = [...samples];
  for (let k = 0; k < count; k++) {
    const chars = [...samples[Math.floor(random() * samples.length)]!];
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * (chars.length + 1));
      const c = alphabet[Math.floor(random() * alphabet.length)]!;
      const kind = Math.floor(random() * 4);
      if (kind === 0) chars.splice(at, 1);
      else if (kind === 1) chars.splice(at, 0, c);
      else if (kind === 2) chars.splice(at, 1, c);
      else chars.splice(at, 0, ...chars.slice(0, at));
    }
    out.push(chars.join(""));
  }
  return out;
}

const PATTERNS: [pattern: string, samples: string[]][] = [
  ["^[A-Z]{2}-\\d{3}(\\.[a-z_]\\w?)?$", ["AB-123", "ZZ-000.a", "QQ-999._9"]],
  ["^(foo|ba(r|z))+$", ["foobar", "bazbaz"]],
  ["q\\s?z", ["qz", "a q z", "q\u00a0z"]],
  ["^[^abc]*$", ["xyz", ""]],
  ["^a{2,}b{0,3}$", ["aab", "aaaabbb"]],
  ["^(?:\\d+\\.)*\\d+$", ["1.2.3", "42"]],
  ["^[\\w.-]+@[a-z]+\\.(com|org)$", ["a.b@x.com", "a-b_c@yy.org"]],
  ["^\\u00e9+\\x41$", ["éA", "ééA"]],
  ["^😀{2}$", ["😀😀"]],
  ["^[\\u{1F600}-\\u{1F64F}]$", ["😃"]],
  ["^.$", ["a", "😀", "\n"]],
  ["^\\S\\s\\D\\W$", ["x\tz#", "1 a!"]],
  ["^(a|ab)(c|bcd)(d*)$", ["abcd", "acd", "abbcd"]],
  ["(^a|b$)", ["ab", "a", "xb", "ba"]],
  ["^$", [""]],
  ["^[\\]\\[\\-]+$", ["[]-"]],
  ["^(?<year>\\d{4})-(?<m>\\d\\d)$", ["2024-01"]],
  ["a+?b", ["aab", "b"]],
  ["^[a-c]{0,3}?$", ["abc", ""]],
  ["^\\cJ\\0\\/\\.$", ["\n\0/."]],
  ["^[^\\d\\s]+$", ["ab!", "é"]],
  [
    "^(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$",
    ["192.168.0.1", "255.255.255.255"],
  ],
  ["^\\uD83D\\uDE00$", ["😀"]],
  ["x*", ["", "abc"]],
];

describe("regex → DFA", () => {
  for (const [pattern, samples] of PATTERNS) {
    it(`matches what /${pattern}/u matches`, () => {
      const dfa = compilePattern(pattern);
      const js = new RegExp(pattern, "u");
      let positives = 0;
      for (const text of neighbours(samples, 400, pattern.length)) {
        const expected = js.test(text);
        positives += expected ? 1 : 0;
        assert.equal(matches(dfa, text), expected, `/${pattern}/ on ${JSON.stringify(text)}`);
      }
      assert.ok(positives > 0);
    });
  }

  for (const bad of [
    "(?=a)",
    "(?!a)",
    "(?<=a)b",
    "(a)\\1",
    "\\k<x>",
    "\\bx",
    "x\\B",
    "\\p{L}",
    "[a",
    "(a",
    "a)",
    "a{2",
    "*a",
    "a**",
    "\\a",
    "\\01",
  ]) {
    it(`refuses /${bad}/`, () => {
      assert.throws(() => compilePattern(bad), RegexError);
    });
  }

  it("refuses patterns whose automaton would explode", () => {
    assert.throws(() => compilePattern("^(a|b)*a(a|b){20}$"), /too complex/);
  });

  it("intersects, bounds lengths and excludes words exactly", () => {
    const letters = compilePattern("^[a-z]+$");
    assert.deepEqual(lengthBounds(letters), { min: 1, max: Infinity });
    const bounded = intersectDfa(letters, lengthDfa(2, 4));
    assert.deepEqual(lengthBounds(bounded), { min: 2, max: 4 });
    for (const [text, ok] of [
      ["a", false],
      ["ab", true],
      ["abcd", true],
      ["abcde", false],
      ["a1", false],
    ] as const)
      assert.equal(matches(bounded, text), ok, text);
    assert.ok(isEmptyLanguage(intersectDfa(compilePattern("^a+$"), compilePattern("^b+$"))));

    const others = excludeStrings(["id", "name", ""]);
    for (const [text, ok] of [
      ["id", false],
      ["name", false],
      ["", false],
      ["i", true],
      ["ids", true],
      ["nam", true],
      ["x", true],
    ] as const)
      assert.equal(matches(others, text), ok, text);
    assert.equal(minimize(others).accept.length <= others.accept.length, true);
  });

  it("keeps minimized automata equivalent on long chains", () => {
    const d = compilePattern("^\\d{3000}$");
    assert.ok(matches(d, "7".repeat(3000)));
    assert.ok(!matches(d, "7".repeat(2999)));
    assert.deepEqual(lengthBounds(d), { min: 3000, max: 3000 });
  });
});

/** ajv-formats' "full" validator for a format, whichever form (RegExp, function) it takes. */
function ajvFormat(name: string): (s: string) => boolean {
  const f = (fullFormats as Record<string, unknown>)[name];
  const v = typeof f === "object" && f !== null && !(f instanceof RegExp) ? (f as { validate: unknown }).validate : f;
  if (v instanceof RegExp) return (s) => v.test(s);
  if (typeof v === "function") return (s) => Boolean((v as (s: string) => unknown)(s));
  throw new Error(`no ajv format ${name}`);
}

describe("string formats", () => {
  it("date matches ajv-formats' full date exactly", () => {
    const date = compilePattern(FORMAT_PATTERNS.date!);
    const validate = ajvFormat("date");
    const years = ["0000", "0004", "0100", "1900", "1996", "2000", "2023", "2024", "2100", "2400", "9999"];
    let checked = 0;
    for (const y of years)
      for (let m = 0; m <= 13; m++)
        for (let day = 0; day <= 32; day++) {
          const text = `${y}-${String(m).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
          assert.equal(matches(date, text), validate(text), text);
          checked++;
        }
    assert.ok(checked > 5000);
  });

  it("time, date-time and uuid accept only what ajv-formats accepts", () => {
    const checks: [string, string[]][] = [
      ["time", ["23:59:59Z", "00:00:00.123456789+05:30", "12:34:56-23:59"]],
      ["date-time", ["2024-02-29T23:59:59.5Z", "1999-12-31T00:00:00+01:00"]],
      ["uuid", ["123e4567-e89b-12d3-a456-426614174000", "ABCDEF01-2345-6789-ABCD-EF0123456789"]],
    ];
    for (const [name, samples] of checks) {
      const dfa = compilePattern(FORMAT_PATTERNS[name]!);
      const validate = ajvFormat(name);
      let accepted = 0;
      for (const text of neighbours(samples, 2000, name.length)) {
        if (!matches(dfa, text)) continue;
        accepted++;
        assert.ok(validate(text), `${name}: ${text}`);
      }
      assert.ok(accepted >= samples.length);
    }
  });
});
