import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenTextDecoder } from "../../../src/engine/text/token-text-decoder.js";

/**
 * A byte-level vocabulary: each token is a byte string, and detokenizing concatenates the bytes
 * and decodes them leniently, as llama.cpp does (an incomplete sequence becomes U+FFFD).
 */
class ByteVocab {
  private readonly pieces: Uint8Array[] = [];
  calls = 0;

  /** Adds a token for these bytes and returns its id. */
  token(bytes: readonly number[]): number {
    this.pieces.push(Uint8Array.from(bytes));
    return this.pieces.length - 1;
  }

  /** Splits the UTF-8 of `text` into tokens of the given byte lengths (the rest is one token). */
  tokenize(text: string, sizes: readonly number[] = []): number[] {
    const bytes = [...Buffer.from(text, "utf8")];
    const out: number[] = [];
    let i = 0;
    for (const size of sizes) {
      if (i >= bytes.length) break;
      out.push(this.token(bytes.slice(i, i + size)));
      i += size;
    }
    if (i < bytes.length) out.push(this.token(bytes.slice(i)));
    return out;
  }

  detokenize = (tokens: readonly number[]): string => {
    this.calls++;
    const bytes = Buffer.concat(tokens.map((t) => this.pieces[t]!));
    return new TextDecoder("utf-8").decode(bytes);
  };

  decodeAll(tokens: readonly number[]): string {
    return this.detokenize(tokens);
  }
}

function decode(vocab: ByteVocab, tokens: readonly number[]): string[] {
  const d = new TokenTextDecoder(vocab.detokenize);
  const out = tokens.map((t) => d.push(t));
  out.push(d.flush());
  return out;
}

describe("TokenTextDecoder", () => {
  it("emits ASCII tokens immediately", () => {
    const v = new ByteVocab();
    const tokens = v.tokenize("Hello world", [5, 1, 5]);
    assert.deepEqual(decode(v, tokens), ["Hello", " ", "world", ""]);
  });

  for (const [label, text] of [
    ["2-byte", "é"],
    ["3-byte", "€"],
    ["4-byte", "😀"],
  ] as const) {
    it(`holds a ${label} character split byte by byte until it is complete`, () => {
      const v = new ByteVocab();
      const n = Buffer.byteLength(text);
      const tokens = v.tokenize(`a${text}b`, [1, ...Array<number>(n).fill(1), 1]);
      const out = decode(v, tokens);
      assert.deepEqual(out, ["a", ...Array<string>(n - 1).fill(""), text, "b", ""]);
      for (const piece of out) assert.ok(!piece.includes("\uFFFD"), JSON.stringify(out));
    });
  }

  it("handles a 4-byte character split 2+2 and 3+1 and 1+3", () => {
    for (const sizes of [
      [2, 2],
      [3, 1],
      [1, 3],
    ]) {
      const v = new ByteVocab();
      assert.deepEqual(decode(v, v.tokenize("😀", sizes)), ["", "😀", ""]);
    }
  });

  it("emits the complete part of a token that also starts the next character", () => {
    const v = new ByteVocab();
    // "€" = E2 82 AC, "😀" = F0 9F 98 80; tokens: [E2 82] [AC F0] [9F] [98] [80]
    const tokens = v.tokenize("€😀", [2, 2, 1, 1, 1]);
    const out = decode(v, tokens);
    assert.deepEqual(out, ["", "€", "", "", "😀", ""]);
  });

  it("keeps emoji ZWJ sequences intact across many tokens", () => {
    const text = "hi 👩‍💻 and 👨‍👩‍👧!";
    const v = new ByteVocab();
    const tokens = v.tokenize(text, Array<number>(Buffer.byteLength(text)).fill(1));
    const out = decode(v, tokens);
    assert.equal(out.join(""), text);
    for (const piece of out) assert.ok(!piece.includes("\uFFFD"), JSON.stringify(out));
  });

  it("concatenated output equals the whole-text decode for any split", () => {
    const text = "Grüße, 世界! 🇯🇵 👍🏽 ok\u00a0…";
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const v = new ByteVocab();
      const sizes = Array.from({ length: 64 }, () => 1 + rand(5));
      const tokens = v.tokenize(text, sizes);
      const out = decode(v, tokens);
      assert.equal(out.join(""), v.decodeAll(tokens));
      assert.equal(out.join(""), text);
      for (const piece of out) assert.ok(!piece.includes("\uFFFD"), JSON.stringify({ sizes, out }));
    }
  });

  it("does not stall on a genuine U+FFFD: released with the next text, or after at most 4 tokens", () => {
    const v = new ByteVocab();
    const replacement = v.token([0xef, 0xbf, 0xbd]);
    const x = v.token([0x78]);
    const d = new TokenTextDecoder(v.detokenize);
    assert.equal(d.push(replacement), "");
    assert.equal(d.push(x), "\uFFFDx");

    const d2 = new TokenTextDecoder(v.detokenize);
    const out = [replacement, replacement, replacement, replacement].map((t) => d2.push(t));
    assert.deepEqual(out, ["", "", "", "\uFFFD\uFFFD\uFFFD\uFFFD"]);
    assert.equal(d2.flush(), "");
  });

  it("emits an invalid byte as U+FFFD once the next token shows it cannot complete", () => {
    const v = new ByteVocab();
    const lone = v.token([0xe2]);
    const a = v.token([0x61]);
    const out = decode(v, [lone, a]);
    assert.deepEqual(out, ["", "\uFFFDa", ""]);
  });

  it("flush releases an unfinished character as U+FFFD and resets", () => {
    const v = new ByteVocab();
    const [first] = v.tokenize("😀", [2]);
    const d = new TokenTextDecoder(v.detokenize);
    assert.equal(d.push(first!), "");
    assert.equal(d.flush(), "\uFFFD");
    assert.equal(d.flush(), "");
    assert.equal(d.push(v.token([0x7a])), "z");
  });

  it("bounds the work when no token boundary is ever a character boundary", () => {
    // [E2] [82 AC E2] [82 AC E2] ...: each token finishes one "€" and starts the next, so the
    // run never ends clean; the pending cap keeps each push's detokenize call short.
    const text = "€".repeat(300);
    const v = new ByteVocab();
    const tokens = v.tokenize(text, [1, ...Array<number>(300).fill(3)]);
    let longest = 0;
    const counting = new TokenTextDecoder((ts: readonly number[]) => {
      longest = Math.max(longest, ts.length);
      return v.detokenize(ts);
    });
    const out = tokens.map((t) => counting.push(t));
    out.push(counting.flush());
    assert.ok(longest <= 32, `detokenized ${longest} tokens at once`);
    const joined = out.join("");
    const damaged = [...joined].filter((c) => c === "\uFFFD").length;
    // Only the characters at the cuts (one per 32 tokens) may be damaged.
    assert.ok(damaged <= 3 * Math.ceil(tokens.length / 31), `damaged: ${damaged}`);
    assert.ok(joined.split("€").length - 1 >= 300 - Math.ceil(tokens.length / 31) * 2);
  });

  it("resets at a clean boundary after a straddling token", () => {
    // [E2 82] [AC 61] [F0 9F 98 80]: after the second token "€a" is clean; then a whole emoji.
    const v = new ByteVocab();
    const tokens = v.tokenize("€a😀", [2, 2, 4]);
    assert.deepEqual(decode(v, tokens), ["", "€a", "😀", ""]);
  });
});
