// vLLM's /tokenize and /detokenize on llama.cpp's tokenizer. Text is tokenized the way a
// completion prompt is and chats are rendered by the same ChatPromptRenderer as chat
// completions, so a count from here equals the `usage.prompt_tokens` the same input gets there.
import { LlamaVocabularyType, type LlamaModel, type Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { TokenizeInput } from "../types.js";
import type { ChatPromptRenderer } from "./chat-prompt.js";

export function tokenizeInput(model: LlamaModel, renderer: ChatPromptRenderer, input: TokenizeInput): Token[] {
  if (input.kind === "text") {
    // Control-token text in a prompt stays plain text, as in completions (README: control tokens).
    const tokens = model.tokenize(input.text, false);
    return input.addSpecialTokens ? addSpecialTokens(model, tokens, "always") : tokens;
  }
  const addGenerationPrompt = input.addGenerationPrompt ?? true;
  const continueFinalMessage = input.continueFinalMessage ?? false;
  const lastRole = input.messages.at(-1)?.role;
  if (continueFinalMessage && addGenerationPrompt)
    throw new EngineError("invalid_request", "Cannot set both `continue_final_message` and `add_generation_prompt` to True.", "continue_final_message");
  if (continueFinalMessage && lastRole !== "assistant")
    throw new EngineError("invalid_request", "'continue_final_message' needs the last message to be an assistant message.", "messages");
  const tokens = renderer.render(input.messages, { generationPrompt: addGenerationPrompt, continueFinalMessage, tools: input.tools });
  return input.addSpecialTokens === true ? addSpecialTokens(model, tokens, "always") : tokens;
}

/** The text of `tokens`, control tokens written out (vLLM decodes without skipping special tokens). */
export function detokenizeTokens(model: LlamaModel, vocabularySize: number, tokens: readonly number[]): string {
  const bad = firstInvalidTokenId(tokens, vocabularySize);
  if (bad >= 0)
    throw new EngineError("invalid_request", `Invalid token id ${tokens[bad]} at tokens[${bad}]: ${vocabularyRange(vocabularySize)}.`, "tokens");
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
