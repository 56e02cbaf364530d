// How many compute threads a short decode gets. The prebuilt addon starts its compute threads
// anew for every decode and makes them wait for each other at a barrier that spins without
// yielding: when another thread (the server's main thread, a client on the same machine) takes one
// of their cores, the other spins until it comes back. With one stream on the tiny model that made
// 15-30% of the 1.4 ms decodes take 25-35 ms, for seconds at a time (docs/performance.md, "Like for
// like"), while one thread, which has no barrier, decodes in 2.5 ms. Short batches stall the same
// way: max_tokens=1 requests 4 at a time decode 2-3 tokens a tick while the main thread answers
// and reads requests, and their two-thread decodes averaged 6.6-10 ms. So while a decode size's
// decodes are short, the tuner keeps the recent times of the setting in use for that size, now
// and then runs a few decodes with the other, and moves to whichever is faster. Longer decodes (a
// real model's) and larger batches are left alone: there one thread costs more than the stalls
// (measured on the 0.5B shape). llama.cpp computes the same numbers with either setting
// (test/engine/llama/thread-tuner checks seeded requests, token for token and logprob for logprob).

/** Decodes of at most this many batch tokens are tuned, each size on its own. */
export const MAX_TUNED_TOKENS = 16;

/**
 * A decode size is tuned while the faster setting's fastest decode takes at most this
 * long, and not at all once every thread's fastest alone exceeds 4 times it (a real model: no try
 * is spent). The fastest decode, not a window's mean: stalls inflate the means of the first
 * windows, and a tuner that judged by them turned itself off for good on a small model.
 */
export const SHORT_DECODE_MS = 5;
/** Decode times kept for the setting in use. */
const WINDOW = 8;
/** Decodes per try of the other setting; the first after a switch is not counted (it re-plans). */
const TRY_LENGTH = 4;
/**
 * Decodes between tries: from the first, doubling while the other setting stays slower, and
 * growing 8-fold after a try that was far slower.
 */
const FIRST_TRY_EVERY = 8;
const LAST_TRY_EVERY = 1024;
const FAR_SLOWER = 1.5;
/**
 * A try starts at once when the setting in use gets this much slower than its best (a stall
 * phase begins), though not sooner than SOONEST_TRY decodes after the last one.
 */
const SLOWED = 2.5;
const SOONEST_TRY = 8;
/** The other setting takes over only when this much faster (no flapping between near-equals). */
const MARGIN = 0.85;

type Setting = "one" | "all";

/** Picks the compute threads of each decode by its size (batch tokens): see the top of this file. */
export class ThreadTuner {
  private readonly sizes = new Map<number, SizeTuner>();

  /** `maxThreads`: the server's --threads; with 1 there is nothing to choose. */
  constructor(private readonly maxThreads: number) {}

  /** Threads for a decode carrying `tokens` batch tokens. */
  choose(tokens: number): number {
    return this.tunerOf(tokens)?.choose() ?? this.maxThreads;
  }

  /** How long a decode of `tokens` tokens took with the `threads` that choose() returned. */
  record(tokens: number, threads: number, ms: number): void {
    this.tunerOf(tokens)?.record(threads, ms);
  }

  /** The threads decodes of `tokens` tokens get now (diagnostics and tests). */
  threads(tokens = 1): number {
    return this.tunerOf(tokens)?.threads() ?? this.maxThreads;
  }

  private tunerOf(tokens: number): SizeTuner | undefined {
    if (this.maxThreads <= 1 || tokens < 1 || tokens > MAX_TUNED_TOKENS) return undefined;
    let tuner = this.sizes.get(tokens);
    if (tuner === undefined) this.sizes.set(tokens, (tuner = new SizeTuner(this.maxThreads)));
    return tuner;
  }
}

/** The tuning of one decode size. */
class SizeTuner {
  /** The setting in use. */
  private current: Setting = "all";
  /** Recent decode times (ms) of the setting in use. */
  private recent: number[] = [];
  /** The lowest mean of a full window each setting has had. */
  private readonly best = { one: Number.POSITIVE_INFINITY, all: Number.POSITIVE_INFINITY };
  /** The fastest counted decode of each setting. */
  private readonly fastest = { one: Number.POSITIVE_INFINITY, all: Number.POSITIVE_INFINITY };
  /** Decodes left in a try of the other setting (0: none runs), and the times it measured. */
  private tryLeft = 0;
  private tried: number[] = [];
  /** The next decode is the first back in the setting in use after a try: not counted. */
  private settling = false;
  private sinceTry = 0;
  private tryEvery = FIRST_TRY_EVERY;
  /** Set once this size's decodes prove long: from then on every thread, always. */
  private off: boolean;

  constructor(private readonly maxThreads: number) {
    this.off = maxThreads <= 1;
  }

  choose(): number {
    if (this.off) return this.maxThreads;
    if (this.tryLeft === 0 && this.recent.length >= WINDOW) {
      const slowed = this.sinceTry >= SOONEST_TRY && mean(this.recent) > this.best[this.current] * SLOWED;
      if (this.sinceTry >= this.tryEvery || slowed) {
        this.tryLeft = TRY_LENGTH;
        this.tried = [];
      }
    }
    return this.threadsOf(this.tryLeft > 0 ? other(this.current) : this.current);
  }

  record(threads: number, ms: number): void {
    if (this.off) return;
    if (this.tryLeft > 0) {
      if (this.tryLeft < TRY_LENGTH) this.noteDecode(other(this.current), ms, this.tried);
      if (--this.tryLeft > 0) return;
      this.endTry();
      return;
    }
    if (this.settling || threads !== this.threadsOf(this.current)) {
      this.settling = false;
      return;
    }
    this.noteDecode(this.current, ms, this.recent);
    if (this.recent.length > WINDOW) this.recent.shift();
    if (this.recent.length === WINDOW) this.noteBest(this.current, mean(this.recent));
    this.sinceTry++;
  }

  threads(): number {
    return this.off ? this.maxThreads : this.threadsOf(this.current);
  }

  private noteDecode(setting: Setting, ms: number, times: number[]): void {
    times.push(ms);
    this.fastest[setting] = Math.min(this.fastest[setting], ms);
  }

  /** Called when a window fills or a try ends: enough decodes to judge the model by. */
  private noteBest(setting: Setting, meanMs: number): void {
    this.best[setting] = Math.min(this.best[setting], meanMs);
    const { one, all } = this.fastest;
    const bothKnown = Number.isFinite(one) && Number.isFinite(all);
    if (all > 4 * SHORT_DECODE_MS || (bothKnown && Math.min(one, all) > SHORT_DECODE_MS)) this.off = true;
  }

  private endTry(): void {
    this.sinceTry = 0;
    const [tried, recent] = [mean(this.tried), mean(this.recent)];
    this.noteBest(other(this.current), tried);
    if (tried < recent * MARGIN) {
      this.current = other(this.current);
      this.recent = [...this.tried];
      this.tryEvery = FIRST_TRY_EVERY;
    } else {
      this.tryEvery = Math.min(this.tryEvery * (tried > recent * FAR_SLOWER ? 8 : 2), LAST_TRY_EVERY);
      this.settling = true;
    }
  }

  private threadsOf(setting: Setting): number {
    return setting === "all" ? this.maxThreads : 1;
  }
}

function other(setting: Setting): Setting {
  return setting === "all" ? "one" : "all";
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
