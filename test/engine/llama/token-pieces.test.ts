// Token bytes decoded from the GGUF vocabulary must be exact: logprobs clients rebuild text from
// them (OpenAI's `bytes` field exists because single-token text can split a character).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { TokenPieces } from "../../../src/engine/llama/token-pieces.js";
import { GgmlType, gguf, writeGguf, type GgufTensor, type GgufValue } from "../../../src/models/gguf-writer.js";
import { loadTinyVocabulary } from "../../helpers/tiny-vocabulary.js";

let llama: Llama;
let model: LlamaModel;

before(async () => {
  ({ llama, model } = await loadTinyVocabulary());
});
after(async () => {
  await model?.dispose();
});

const samples: Record<string, string> = {
  English: "The quick brown fox jumps over the lazy dog. It's 'quoted', isn't it?",
  CJK: "你好，世界！日本語のテキスト：東京は晴れです。한국어 텍스트입니다.",
  "emoji with ZWJ, skin tones, flags": "👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇯🇵🇺🇸 ❤️ 🧑🏿‍💻",
  code: "def f(x):\n\treturn [x * 2 for x in range(10)]  # comment\nif (a && b) { c({d: [1, 2]}); }\n",
  "whitespace runs": "a    b\n\n\n   c \t\t d  \n \n\n\n        e\u00a0\u3000\r\n",
  "mixed scripts": "русский, العربية, עברית, हिन्दी, ไทย, Ελληνικά ½ ²",
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isValidUtf8(bytes: readonly number[]): boolean {
  try {
    utf8.decode(Uint8Array.from(bytes));
    return true;
  } catch {
    return false;
  }
}

describe("TokenPieces", () => {
  it("finds the vocabulary in the model's GGUF metadata", () => {
    const tokens: unknown = model.fileInfo.metadata?.tokenizer?.ggml?.tokens;
    assert.ok(Array.isArray(tokens));
    assert.equal(tokens.length, 151936);
  });

  for (const [name, text] of Object.entries(samples)) {
    it(`the bytes of the tokens of ${name} concatenate to the text's UTF-8`, () => {
      const pieces = new TokenPieces(model);
      const tokens = model.tokenize(text, false);
      const bytes = tokens.flatMap((t) => pieces.bytes(t));
      assert.deepEqual(Buffer.from(bytes), Buffer.from(text, "utf8"));
      for (const t of tokens) {
        if (isValidUtf8(pieces.bytes(t))) assert.equal(pieces.text(t), model.detokenize([t]), `token ${t}`);
        else assert.match(pieces.text(t), /^bytes:(\\x[0-9a-f]{2})+$/, `token ${t}`);
      }
    });
  }

  it("writes tokens that hold part of a character in OpenAI's bytes: form", () => {
    const pieces = new TokenPieces(model);
    // 👨‍👩 splits into tokens holding parts of the emoji and of the zero-width joiner.
    const partial = model.tokenize("👨‍👩‍👧", false).filter((t) => !isValidUtf8(pieces.bytes(t)));
    assert.ok(partial.length > 0);
    for (const t of partial) {
      const expected =
        "bytes:" +
        pieces
          .bytes(t)
          .map((b) => `\\x${b.toString(16).padStart(2, "0")}`)
          .join("");
      assert.equal(pieces.text(t), expected);
      // What llama.cpp itself gives for such a token: the replacement character.
      assert.match(model.detokenize([t]), /\uFFFD/);
    }
    // The zero-width joiner's first two bytes are one token in the Qwen vocabulary.
    const zwjHead = model.tokenize("\u200d", false)[0]!;
    assert.deepEqual(pieces.bytes(zwjHead), [0xe2, 0x80]);
    assert.equal(pieces.text(zwjHead), "bytes:\\xe2\\x80");
  });

  it("gives control and user-defined tokens their text", () => {
    const pieces = new TokenPieces(model);
    assert.equal(pieces.text(151645), "<|im_end|>");
    assert.deepEqual(pieces.bytes(151645), [...Buffer.from("<|im_end|>")]);
    assert.equal(pieces.text(151643), "<|endoftext|>");
    const think = model.tokenize("<think>", false);
    assert.equal(think.length, 1);
    assert.equal(pieces.text(think[0]!), "<think>");
  });

  it("agrees with llama.cpp on every whole-character token of the vocabulary", () => {
    const pieces = new TokenPieces(model);
    let whole = 0;
    let partial = 0;
    for (let t = 0; t < 151936; t++) {
      const expected = model.detokenize([t as never], true);
      if (model.getTokenAttributes(t as never).unused) assert.deepEqual(pieces.bytes(t), [], `token ${t}`);
      if (isValidUtf8(pieces.bytes(t))) {
        whole++;
        assert.equal(pieces.text(t), expected, `token ${t}`);
      } else {
        partial++;
        assert.ok(expected.includes("\uFFFD"), `token ${t}: ${JSON.stringify(expected)}`);
      }
    }
    assert.ok(whole > 150_000 && partial > 0, `${whole} whole, ${partial} partial`);
  });

  it("returns the same frozen array on every call and rejects ids outside the vocabulary", () => {
    const pieces = new TokenPieces(model);
    const a = pieces.bytes(9707);
    assert.equal(pieces.bytes(9707), a);
    assert.ok(Object.isFrozen(a));
    assert.throws(() => pieces.bytes(151936), RangeError);
    assert.throws(() => pieces.bytes(-1), RangeError);
    assert.throws(() => pieces.text(1.5), RangeError);
  });

  it("is cheap per cached call (timings printed)", () => {
    const t0 = process.hrtime.bigint();
    const pieces = new TokenPieces(model);
    const constructNs = Number(process.hrtime.bigint() - t0);

    const ids = [...model.tokenize(Object.values(samples).join(" "), false)];
    const t1 = process.hrtime.bigint();
    for (const t of ids) pieces.text(t);
    const firstNs = Number(process.hrtime.bigint() - t1) / ids.length;

    const rounds = 2000;
    let sink = 0;
    const t2 = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) {
      for (const t of ids) sink += pieces.bytes(t).length + pieces.text(t).length;
    }
    const cachedNs = Number(process.hrtime.bigint() - t2) / (rounds * ids.length * 2);
    assert.ok(sink > 0);
    console.log(
      `TokenPieces: constructor ${(constructNs / 1e3).toFixed(1)} µs, first text()+bytes() ${firstNs.toFixed(0)} ns/token ` +
        `(${ids.length} tokens), cached bytes()/text() ${cachedNs.toFixed(1)} ns/call`,
    );
    // Relative, so that a loaded machine slows both sides alike: a cached lookup is an array read,
    // hundreds of times cheaper than decoding; only a regression to decoding per call trips this.
    assert.ok(cachedNs * 10 < firstNs, `${cachedNs} ns per cached call, ${firstNs} ns per first call`);
  });
});

/**
 * A vocabulary-only SentencePiece GGUF (llama tokenizer): "▁" for spaces, <0xNN> byte tokens for
 * characters outside the vocabulary, a user-defined token.
 */
async function writeSpmVocab(path: string): Promise<void> {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(6);
  }
  for (const t of ["▁", "▁hello", "▁world", "hello", "你", "好", "▁你好", "a"]) {
    tokens.push(t);
    types.push(1);
  }
  tokens.push("<|user|>");
  types.push(4);
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gguf.str("llama")],
    ["llama.context_length", gguf.u32(64)],
    ["llama.embedding_length", gguf.u32(8)],
    ["llama.block_count", gguf.u32(1)],
    ["llama.feed_forward_length", gguf.u32(16)],
    ["llama.attention.head_count", gguf.u32(2)],
    ["llama.attention.head_count_kv", gguf.u32(2)],
    ["llama.attention.layer_norm_rms_epsilon", gguf.f32(1e-5)],
    ["tokenizer.ggml.model", gguf.str("llama")],
    ["tokenizer.ggml.tokens", gguf.strings(tokens)],
    ["tokenizer.ggml.scores", gguf.f32s(tokens.map(() => 0))],
    ["tokenizer.ggml.token_type", gguf.i32s(types)],
    ["tokenizer.ggml.bos_token_id", gguf.u32(1)],
    ["tokenizer.ggml.eos_token_id", gguf.u32(2)],
    ["tokenizer.ggml.unknown_token_id", gguf.u32(0)],
  ]);
  // Zero weights: only the vocabulary is used, but node-llama-cpp sizes the model on load and
  // logs an error for every missing tensor.
  const tensor = (name: string, shape: number[]): GgufTensor => ({
    name,
    shape,
    type: GgmlType.F32,
    data: () => [new Uint8Array(shape.reduce((a, b) => a * b, 4))],
  });
  const embd = 8;
  const ff = 16;
  await writeGguf(path, metadata, [
    tensor("token_embd.weight", [embd, tokens.length]),
    tensor("output_norm.weight", [embd]),
    tensor("blk.0.attn_norm.weight", [embd]),
    tensor("blk.0.attn_q.weight", [embd, embd]),
    tensor("blk.0.attn_k.weight", [embd, embd]),
    tensor("blk.0.attn_v.weight", [embd, embd]),
    tensor("blk.0.attn_output.weight", [embd, embd]),
    tensor("blk.0.ffn_norm.weight", [embd]),
    tensor("blk.0.ffn_gate.weight", [embd, ff]),
    tensor("blk.0.ffn_up.weight", [embd, ff]),
    tensor("blk.0.ffn_down.weight", [ff, embd]),
  ]);
}

describe("TokenPieces (SentencePiece vocabulary)", () => {
  it("decodes ▁ as a space, <0xNN> as its byte and literal tokens as their text", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lavash-spm-"));
    const path = join(dir, "spm-vocab.gguf");
    await writeSpmVocab(path);
    const spm = await llama.loadModel({ modelPath: path, vocabOnly: true });
    try {
      const pieces = new TokenPieces(spm);
      const text = "hello world 你好 😀<|user|>";
      const tokens = spm.tokenize(text, false);
      // llama.cpp's SentencePiece tokenizer puts a space in front of the text.
      assert.deepEqual(Buffer.from(tokens.flatMap((t) => pieces.bytes(t))), Buffer.from(` ${text}`, "utf8"));
      const id = (piece: string): number => spm.fileInfo.metadata.tokenizer.ggml.tokens.indexOf(piece);
      assert.equal(pieces.text(id("▁hello")), " hello");
      assert.equal(pieces.text(id("▁你好")), " 你好");
      assert.deepEqual(pieces.bytes(id("<0x0A>")), [10]);
      // The emoji is not in the vocabulary: four byte tokens, none of them a character alone.
      const partial = tokens.filter((t) => !isValidUtf8(pieces.bytes(t)));
      assert.deepEqual(
        partial.map((t) => pieces.text(t)),
        ["bytes:\\xf0", "bytes:\\x9f", "bytes:\\x98", "bytes:\\x80"],
      );
      assert.equal(pieces.text(tokens[tokens.length - 1]!), "<|user|>");
      assert.equal(pieces.text(1), "<s>");
    } finally {
      await spm.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
