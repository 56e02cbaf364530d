// vLLM's /tokenize and /detokenize on llama.cpp's tokenizer. Text is tokenized the way a
// completion prompt is and chats are rendered by the same ChatPromptRenderer as chat
// completions, so a count from here equals the `usage.prompt_tokens` the same input gets there.
import { LlamaVocabularyType, type LlamaModel, type Token } from "node-llama-cpp";
import { EngineError, type EngineField } from "../errors.js";
import type { TokenizeInput } from "../types.js";
import type { ChatPromptRenderer } from "./chat-prompt.js";

/** `checkBytes` sees the UTF-8 length of the text before it is tokenized (see checkPromptBytes). */
export function tokenizeInput(
  model: LlamaModel,
  renderer: ChatPromptRenderer,
  input: TokenizeInput,
  checkBytes?: (bytes: number) => void,
): Token[] {
  if (input.kind === "text") {
    checkBytes?.(utf8Bytes([input.text]));
    // Control-token text in a prompt stays plain text, as in completions (docs/reference.md: control tokens).
    const tokens = model.tokenize(input.text, false);
    return input.addSpecialTokens ? addSpecialTokens(model, tokens, "always") : tokens;
  }
  const addGenerationPrompt = input.addGenerationPrompt ?? true;
  const continueFinalMessage = input.continueFinalMessage ?? false;
  const lastRole = input.messages.at(-1)?.role;
  // The endpoint refuses these (tokenize/mapping.ts); here they would render a wrong prompt.
  if (continueFinalMessage && (addGenerationPrompt || lastRole !== "assistant"))
    throw new Error(
      "internal: continueFinalMessage needs the last message from the assistant and no generation prompt",
    );
  const tokens = renderer.render(input.messages, {
    generationPrompt: addGenerationPrompt,
    continueFinalMessage,
    tools: input.tools,
    ...(checkBytes ? { checkBytes } : {}),
  });
  return input.addSpecialTokens === true ? addSpecialTokens(model, tokens, "always") : tokens;
}

/**
 * The most bytes of input text one token of `model` can stand for, or null when no such bound
 * holds. A prompt of B bytes therefore becomes at least B / bound tokens, so a prompt too long for
 * the context can be refused by its byte length alone, before the tokenizer (synchronous, about a
 * second per megabyte) blocks the event loop on it.
 *
 * The bound is the longest stored token text in UTF-8 bytes. Stored texts never take fewer bytes
 * than the input they match: byte-level BPE stores each input byte as one character of 1 or 2
 * bytes; SentencePiece stores a space as "▁" (3 bytes) and byte fallbacks as "<0xNN>"; RWKV
 * stores escapes ("\\n" for a newline); special tokens are their own text. WordPiece and Unigram
 * normalize first (whitespace dropped, accents stripped, a whole unknown word as one [UNK]), so
 * input bytes bound nothing there.
 */
export function longestTokenBytes(model: LlamaModel): number | null {
  const type = model.vocabularyType;
  if (type !== LlamaVocabularyType.bpe && type !== LlamaVocabularyType.spm && type !== LlamaVocabularyType.rwkv)
    return null;
  const texts = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  if (!Array.isArray(texts) || texts.length === 0) return null;
  let longest = 0;
  for (const text of texts) if (typeof text === "string") longest = Math.max(longest, Buffer.byteLength(text, "utf8"));
  return longest > 0 ? longest : null;
}

/** Where a prompt's length is checked against: the context, and the longest token's bytes. */
export interface PromptBound {
  contextSize: number;
  /** longestTokenBytes of the model; null: no byte bound, only the tokenized length counts. */
  longestTokenBytes: number | null;
  /** The field the prompt came in. */
  field: EngineField;
  /** Which of several inputs (embeddings). */
  input?: number;
}

/**
 * Refuses (400 context_length_exceeded) a prompt whose `bytes` of text cannot become fewer tokens
 * than the context holds. Cheap (no tokenizing), so it runs before the tokenizer does.
 */
export function checkPromptBytes(bytes: number, bound: PromptBound): void {
  if (bound.longestTokenBytes === null) return;
  const fewest = Math.ceil(bytes / bound.longestTokenBytes);
  // Only the prompt itself: whether max_tokens fits too is told exactly, with the prompt's token
  // count, once the prompt is tokenized (which this bound keeps short).
  if (fewest < bound.contextSize) return;
  throw new EngineError(
    "context_length_exceeded",
    `${bytes} bytes of text cannot be fewer than ${fewest} tokens, more than the context of ${bound.contextSize} holds`,
    bound.field,
    {
      reason: "prompt_bytes_exceed_context",
      contextSize: bound.contextSize,
      bytes,
      fewestTokens: fewest,
      longestTokenBytes: bound.longestTokenBytes,
      ...(bound.input === undefined ? {} : { input: bound.input }),
    },
  );
}

/** UTF-8 length of several texts together. */
export function utf8Bytes(texts: Iterable<string>): number {
  let n = 0;
  for (const t of texts) n += Buffer.byteLength(t, "utf8");
  return n;
}

/** The text of `tokens`, control tokens written out (vLLM decodes without skipping special tokens). */
export function detokenizeTokens(model: LlamaModel, vocabularySize: number, tokens: readonly number[]): string {
  const bad = firstInvalidTokenId(tokens, vocabularySize);
  if (bad >= 0)
    throw new EngineError(
      "token_out_of_vocabulary",
      `token id ${tokens[bad]} at position ${bad}: ${vocabularyRange(vocabularySize)}`,
      "tokens",
      {
        reason: "token_out_of_vocabulary",
        token: tokens[bad]!,
        vocabularySize,
        position: bad,
      },
    );
  return model.detokenize(tokens as Token[], true);
}

/**
 * Index of the first id outside the vocabulary, or -1. Such ids must never reach llama.cpp: its
 * token lookups index arrays without a bounds check (or abort the process).
 */
export function firstInvalidTokenId(tokens: readonly number[], vocabularySize: number): number {
  return tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocabularySize);
}

export function vocabularyRange(vocabularySize: number): string {
  return `the vocabulary has ids 0..${vocabularySize - 1}`;
}

/**
 * The tokens llama.cpp's tokenizer adds with add_special (BOS/EOS as the GGUF asks, CLS/SEP for
 * WordPiece), in node-llama-cpp's reading of those rules. "if_missing" adds a token only where it
 * is not already there, which is what node-llama-cpp's embedding context does to its input, so
 * a count made here is what that context evaluates.
 */
export function addSpecialTokens(model: LlamaModel, tokens: readonly Token[], mode: "always" | "if_missing"): Token[] {
  const { first, last } = specialTokensOf(model);
  const out = tokens.slice();
  if (first !== null && (mode === "always" || out[0] !== first)) out.unshift(first);
  if (last !== null && (mode === "always" || out.at(-1) !== last)) out.push(last);
  return out;
}

function specialTokensOf(model: LlamaModel): { first: Token | null; last: Token | null } {
  const t = model.tokens;
  switch (model.vocabularyType) {
    case LlamaVocabularyType.rwkv:
      return { first: null, last: null };
    case LlamaVocabularyType.wpm:
      return { first: t.bos, last: t.sep };
    case LlamaVocabularyType.ugm:
      return { first: null, last: t.eos };
    default:
      return { first: t.shouldPrependBosToken ? t.bos : null, last: t.shouldAppendEosToken ? t.eos : null };
  }
}
