// The exact bytes and the display string of each vocabulary token, for logprobs. Detokenizing a
// single token through llama.cpp loses information: a token holding part of a multi-byte
// character comes back as U+FFFD. The GGUF vocabulary stores every token's exact content, so the
// bytes are decoded from it the way llama.cpp's token_to_piece does.
import { LlamaVocabularyType, type LlamaModel, type Token, type TokenAttributes } from "node-llama-cpp";

// GPT-2's byte-level BPE writes each byte as a printable character: the printable Latin-1 bytes
// as themselves, the other 68 bytes as U+0100 onwards, in byte order. Indexed by code point
// (the largest is U+0143); -1 marks characters that stand for no byte.
const GPT2_CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[printable ? b : next++] = b;
  }
  return table;
})();

const SPM_SPACE = "\u2581";
const SPM_BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

const utf8 = new TextEncoder();
// ignoreBOM keeps U+FEFF: a token can be exactly that character, and stripping it would empty it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

type Decoder = (token: Token) => number[];

export class TokenPieces {
  private readonly decode: Decoder;
  private readonly vocabSize: number;
  // Indexed by token id and filled on first use: ids are dense, so an array beats a Map here.
  private readonly bytesCache: (readonly number[] | undefined)[];
  private readonly textCache: (string | undefined)[];

  constructor(model: LlamaModel) {
    // llama.cpp cannot load a model without this array, so an empty one only happens for a
    // model object that is not a loaded GGUF; every lookup then fails loudly.
    const pieces = vocabularyStrings(model) ?? [];
    this.vocabSize = pieces.length;
    this.decode = makeDecoder(model, pieces);
    this.bytesCache = new Array<readonly number[] | undefined>(this.vocabSize);
    this.textCache = new Array<string | undefined>(this.vocabSize);
  }

  /**
   * The token's exact UTF-8 bytes. The array is shared by every caller (it is frozen), so that
   * the per-token path of a logprobs request allocates nothing after the first use of a token.
   */
  bytes(token: number): number[] {
    const cached = this.bytesCache[token];
    if (cached !== undefined) return cached as number[];
    this.checkToken(token);
    // Token is node-llama-cpp's branded number; the id was just checked against the vocabulary.
    const bytes = Object.freeze(this.decode(token as Token));
    this.bytesCache[token] = bytes;
    return bytes as number[];
  }

  /**
   * The token's text; when its bytes are not valid UTF-8 on their own (part of a character),
   * OpenAI's form `bytes:\xe4\xbd`, every byte written as `\x` and two lowercase hex digits.
   */
  text(token: number): string {
    const cached = this.textCache[token];
    if (cached !== undefined) return cached;
    const text = displayText(this.bytes(token));
    this.textCache[token] = text;
    return text;
  }

  private checkToken(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`token ${token} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}

function displayText(bytes: readonly number[]): string {
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    let out = "bytes:";
    for (const b of bytes) out += `\\x${b.toString(16).padStart(2, "0")}`;
    return out;
  }
}

/**
 * The token strings as stored in the GGUF. node-llama-cpp reads the whole metadata when it
 * loads a model (LlamaModel passes no ignoreKeys to readGgufFileInfo), so they are in fileInfo.
 * Elements are checked when decoded rather than all up front (a 150k scan at every model load).
 */
function vocabularyStrings(model: LlamaModel): readonly unknown[] | undefined {
  const tokens: unknown = model.fileInfo.metadata?.tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? tokens : undefined;
}

function makeDecoder(model: LlamaModel, pieces: readonly unknown[]): Decoder {
  // Special and user-defined tokens are stored as plain text in both vocabulary kinds, as
  // llama.cpp's token_to_piece treats them. The native attributes are the ones llama.cpp settled
  // on at load (it promotes some end-of-turn tokens to control), so they are read from it.
  const isLiteral = (attrs: TokenAttributes): boolean => attrs.control || attrs.userDefined || attrs.unknown;
  const literal = (text: string): number[] => Array.from(utf8.encode(text));
  const fallback: Decoder = (token) => literal(model.detokenize([token], true));

  // Unused ids (vocabulary padding) render as nothing in llama.cpp's output: no bytes.
  const decoder =
    (escaped: (piece: string, attrs: TokenAttributes) => number[]): Decoder =>
    (token) => {
      const piece = pieces[token];
      if (typeof piece !== "string") return fallback(token);
      const attrs = model.getTokenAttributes(token);
      if (attrs.unused) return [];
      return isLiteral(attrs) ? literal(piece) : escaped(piece, attrs);
    };
  if (model.vocabularyType === LlamaVocabularyType.bpe) {
    return decoder((piece) => {
      const out: number[] = [];
      for (const ch of piece) {
        const cp = ch.codePointAt(0)!;
        const byte = cp < GPT2_CHAR_TO_BYTE.length ? GPT2_CHAR_TO_BYTE[cp]! : -1;
        // Outside the byte alphabet (a hand-edited vocabulary): keep the character's own bytes
        // rather than losing it (llama.cpp writes an "[UNK_BYTE_..." marker instead).
        if (byte >= 0) out.push(byte);
        else out.push(...utf8.encode(ch));
      }
      return out;
    });
  }
  if (model.vocabularyType === LlamaVocabularyType.spm || model.vocabularyType === LlamaVocabularyType.ugm) {
    return decoder((piece, attrs) => {
      const byteToken = attrs.byte ? SPM_BYTE_TOKEN.exec(piece) : null;
      if (byteToken !== null) return [parseInt(byteToken[1]!, 16)];
      return literal(piece.replaceAll(SPM_SPACE, " "));
    });
  }
  // Other vocabularies (WordPiece, RWKV, ...) have their own escapes; llama.cpp's own rendering is
  // exact for whole characters and loses only the bytes of a split one (they become U+FFFD).
  return fallback;
}
