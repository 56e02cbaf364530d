import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StopMatcher } from "../../../src/engine/text/stop-matcher.js";

/** Pushes each piece; returns everything emitted (with flush if not stopped) and whether it stopped. */
function run(stops: string[], pieces: string[]): { text: string; stopped: boolean; emitted: string[] } {
  const m = new StopMatcher(stops);
  const emitted: string[] = [];
  for (const piece of pieces) {
    const r = m.push(piece);
    emitted.push(r.text);
    if (r.stopped) return { text: emitted.join(""), stopped: true, emitted };
  }
  emitted.push(m.flush());
  return { text: emitted.join(""), stopped: false, emitted };
}

/** Reference: cut at the earliest-ending occurrence (longest on ties) of any stop in the full text. */
function reference(stops: string[], text: string): { text: string; stopped: boolean } {
  for (let end = 1; end <= text.length; end++) {
    const done = stops
      .filter((s) => s.length > 0 && s.length <= end && text.slice(end - s.length, end) === s)
      .sort((a, b) => b.length - a.length)[0];
    if (done !== undefined) return { text: text.slice(0, end - done.length), stopped: true };
  }
  return { text, stopped: false };
}

describe("StopMatcher", () => {
  it("passes text through when there are no stops (and ignores empty ones)", () => {
    const m = new StopMatcher(["", ""]);
    assert.deepEqual(m.push("hello"), { text: "hello", stopped: false });
    assert.equal(m.flush(), "");
  });

  it("stops at a single stop inside one push", () => {
    assert.deepEqual(new StopMatcher(["\n\n"]).push("Hi.\n\nMore"), { text: "Hi.", stopped: true });
  });

  it("holds back a possible stop prefix and emits text before it", () => {
    const m = new StopMatcher(["</s>"]);
    assert.deepEqual(m.push("abc<"), { text: "abc", stopped: false });
    assert.deepEqual(m.push("/"), { text: "", stopped: false });
    assert.deepEqual(m.push("s>tail"), { text: "", stopped: true });
  });

  it("finds a stop split across many single-character pushes", () => {
    const r = run(["STOP"], ["x", "S", "T", "O", "P", "y"]);
    assert.deepEqual(r, { text: "x", stopped: true, emitted: ["x", "", "", "", ""] });
  });

  it("releases held text when the partial match fails", () => {
    const m = new StopMatcher(["###"]);
    assert.deepEqual(m.push("a##"), { text: "a", stopped: false });
    assert.deepEqual(m.push("b"), { text: "##b", stopped: false });
    assert.deepEqual(m.push("#"), { text: "", stopped: false });
    assert.equal(m.flush(), "#");
  });

  it("re-matches inside a failed partial match (KMP fallback)", () => {
    // "aab" fails the stop "aaab" at the b, but the held "aa" + "a" + "b" may still match later.
    assert.deepEqual(run(["aaab"], ["aa", "a", "a", "b", "z"]), {
      text: "a",
      stopped: true,
      emitted: ["", "", "a", ""],
    });
  });

  it("handles several stops and overlapping candidates", () => {
    assert.deepEqual(run(["abc", "bcd"], ["xab", "cd"]).text, "x");
    assert.deepEqual(run(["abc", "bcd"], ["xb", "cd"]).text, "x");
    assert.deepEqual(run(["abc", "bcd"], ["xbc", "e"]), { text: "xbce", stopped: false, emitted: ["x", "bce", ""] });
    // Both complete on the same character: cut at the one that started first.
    assert.deepEqual(run(["abcd", "cd"], ["ab", "cd"]).text, "");
    // The first stop to complete wins even if a longer one started earlier and would end later.
    assert.deepEqual(run(["abcde", "bc"], ["abcde"]).text, "a");
  });

  it("stops at the very start", () => {
    assert.deepEqual(new StopMatcher(["User:"]).push("User: hi"), { text: "", stopped: true });
    assert.deepEqual(run(["User:"], ["Us", "er:"]), { text: "", stopped: true, emitted: ["", ""] });
  });

  it("handles unicode stop sequences", () => {
    assert.deepEqual(run(["。"], ["你好", "。再见"]).text, "你好");
    assert.deepEqual(run(["😀!"], ["a😀", "!b"]), { text: "a", stopped: true, emitted: ["a", ""] });
    assert.deepEqual(run(["👩‍💻"], ["x👩", "‍", "💻"]).text, "x");
  });

  it("flush returns held text at the end, and nothing after a stop", () => {
    const m = new StopMatcher(["END"]);
    assert.deepEqual(m.push("the EN"), { text: "the ", stopped: false });
    assert.equal(m.flush(), "EN");
    assert.equal(m.flush(), "");
    const s = new StopMatcher(["x"]);
    s.push("axb");
    assert.equal(s.flush(), "");
    assert.deepEqual(s.push("more"), { text: "", stopped: true });
  });

  it("agrees with a brute-force reference on random inputs and random splits", () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = "ab<>/";
    const word = (len: number): string => Array.from({ length: len }, () => alphabet[rand(alphabet.length)]).join("");
    for (let trial = 0; trial < 2000; trial++) {
      const stops = Array.from({ length: 1 + rand(3) }, () => word(1 + rand(4)));
      const text = word(rand(30));
      const pieces: string[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + rand(4);
        pieces.push(text.slice(i, i + n));
        i += n;
      }
      const got = run(stops, pieces);
      assert.deepEqual(
        { text: got.text, stopped: got.stopped },
        reference(stops, text),
        JSON.stringify({ stops, pieces }),
      );
    }
  });
});
