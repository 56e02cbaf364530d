// Streaming detokenization that never splits a character. With byte-level BPE a token can carry
// part of a UTF-8 sequence (an emoji is often 2-4 tokens), and detokenizing such a token alone
// yields U+FFFD. So the tokens since the last clean boundary are kept and detokenized together;
// text is released up to the trailing incomplete character, the rest waits for more tokens.
//
// Two bounds keep this from stalling or going quadratic:
// - a model can emit a genuine U+FFFD; after MAX_STALLED_PUSHES pushes that release nothing, the
//   pending text is emitted as it is (a UTF-8 character has at most 4 bytes, and every token has
//   at least one, so a real split character always completes within 4 pushes);
// - the run resets at every token boundary that is also a character boundary; if tokens keep
//   straddling characters so that none comes, the run is cut at MAX_PENDING_TOKENS (mangling
//   the character at the cut) rather than re-decoded ever longer. Real vocabularies do not
//   produce such chains; the cap only bounds the cost if one ever does.

const MAX_STALLED_PUSHES = 4;
const MAX_PENDING_TOKENS = 32;

export type Detokenize<T extends number = number> = (tokens: readonly T[]) => string;

/**
 * Generic over the token type so branded token ids (node-llama-cpp's Token) pass through. The
 * fields are stored as plain numbers so that a decoder of branded tokens is still assignable to
 * `TokenTextDecoder` (the brand is compile-time only; the tokens given back are the ones pushed).
 */
export class TokenTextDecoder<T extends number = number> {
  private readonly detokenize: Detokenize;
  /** Tokens since the last clean character boundary. */
  private pending: number[] = [];
  /** How much of detokenize(pending) has been emitted already. */
  private emitted = 0;
  private stalled = 0;

  constructor(detokenize: Detokenize<T>) {
    this.detokenize = detokenize as Detokenize;
  }

  /** Adds one generated token; returns the text that is now complete (often "", never partial). */
  push(token: T): string {
    this.pending.push(token);
    const text = this.detokenize(this.pending);

    let stableEnd = text.length;
    while (stableEnd > this.emitted && text.charCodeAt(stableEnd - 1) === 0xfffd) stableEnd--;

    if (stableEnd === text.length) {
      // Clean end: everything is final and the next token starts a fresh run.
      return this.releaseAll(text);
    }

    if (stableEnd > this.emitted) {
      const out = text.slice(this.emitted, stableEnd);
      this.emitted = stableEnd;
      this.stalled = 0;
      if (this.pending.length >= MAX_PENDING_TOKENS) return out + this.releaseAll(text);
      return out;
    }

    this.stalled++;
    if (this.stalled >= MAX_STALLED_PUSHES || this.pending.length >= MAX_PENDING_TOKENS) {
      return this.releaseAll(text);
    }
    return "";
  }

  /** Whatever is pending, at the end of generation (an unfinished character stays U+FFFD). */
  flush(): string {
    if (this.pending.length === 0) return "";
    return this.releaseAll(this.detokenize(this.pending));
  }

  private releaseAll(text: string): string {
    const out = text.slice(this.emitted);
    this.reset();
    return out;
  }

  private reset(): void {
    this.pending = [];
    this.emitted = 0;
    this.stalled = 0;
  }
}
