// How many prompt tokens a decode may carry while other sequences are generating. Every prompt
// token added to a shared decode delays the next token of every stream in it; on a CPU a prompt
// token costs about as much as a whole step of a few streams (0.5B model, 2 cores: ~15 ms per
// prompt token, ~70 ms per step of 4 streams). A fixed chunk either stalls the streams (128 tokens:
// ~20× their step time) or starves the prompt, so the pacer measures both costs and sizes each
// chunk to keep a step within `slowdown` times a decode-only step.

/** Weight of the newest measurement in the running averages. */
const ALPHA = 0.2;
/** Chunk before anything is measured: small, so a first guess cannot stall anyone long. */
const FIRST_CHUNK = 8;

export class PrefillPacer {
  private decodeMs: number | null = null;
  private promptTokenMs: number | null = null;

  /** `slowdown` >= 1: how much slower a step with prompt tokens may be than one without. */
  constructor(private readonly slowdown: number) {
    if (!(slowdown >= 1)) throw new RangeError("slowdown must be >= 1");
  }

  /** Prompt tokens one decode may carry while sequences are generating (at least 1). */
  allowance(maxChunk: number): number {
    if (this.decodeMs === null || this.promptTokenMs === null) return Math.min(maxChunk, FIRST_CHUNK);
    const tokens = Math.floor(((this.slowdown - 1) * this.decodeMs) / this.promptTokenMs);
    return Math.max(1, Math.min(maxChunk, tokens));
  }

  /** One decode: how many sequences it advanced, how many prompt tokens it held, how long it took. */
  record(decoding: number, promptTokens: number, ms: number): void {
    if (promptTokens === 0) {
      if (decoding > 0) this.decodeMs = average(this.decodeMs, ms);
    } else if (decoding === 0) this.promptTokenMs = average(this.promptTokenMs, ms / promptTokens);
    else if (this.decodeMs !== null)
      this.promptTokenMs = average(this.promptTokenMs, Math.max(ms - this.decodeMs, 0.01) / promptTokens);
  }
}

function average(previous: number | null, value: number): number {
  return previous === null ? value : previous + ALPHA * (value - previous);
}
