// An in-memory ScalingSession over a toy autoregressive model, for testing src/its without an
// engine: ordinary tokens 0..vocab-1 plus, optionally, an end-of-generation token (id = vocab).
// Logits are a deterministic function of the prefix; each chain (forks included) samples from the
// proposal q = softmax(logits / T) with its own seeded stream, seeded in creation order from the
// session's seed. Every ScoredStep value is exact. It counts live chains so tests catch leaks, and
// extend() yields to the event loop so concurrent extends really overlap.
import { EngineError } from "../../src/engine/errors.js";
import type { ScalingChain, ScalingSession, ScoredStep } from "../../src/engine/types.js";
import { rng } from "./rng.js";

export type LogitsFn = (prefix: readonly number[]) => number[];

export interface FakeSessionOptions {
  /** Ordinary tokens 0..vocab-1. */
  vocab: number;
  /** Adds the end-of-generation token, id `vocab`. */
  eog?: boolean;
  /** Proposal temperature T. */
  temperature: number;
  seed: number;
  maxTokens: number;
  /** Logits over vocab (+1 with eog) tokens; default hashLogits(salt). */
  logits?: LogitsFn;
  /** Salt of the default hash-based logits. */
  salt?: number;
  /** Compute ScoredStep.entropy (default true). */
  entropy?: boolean;
  promptTokens?: number;
  signal?: AbortSignal;
}

/** Logits in [-1.2, 1.2) from an FNV-style hash of (salt, prefix, token). */
export function hashLogits(size: number, salt = 0): LogitsFn {
  return (prefix) => {
    let h = 2166136261 ^ salt;
    for (const t of [...prefix, 99]) h = Math.imul(h ^ t, 16777619);
    const z: number[] = [];
    for (let v = 0; v < size; v++) {
      h = Math.imul(h ^ (v + 7), 16777619);
      h ^= h >>> 13;
      z.push((((h >>> 0) % 1000) / 1000) * 2.4 - 1.2);
    }
    return z;
  };
}

/** ln Σ exp(z_v / t) and the log-softmax at temperature t. */
export function logSoftmax(z: readonly number[], t: number): { logNormalizer: number; logprobs: number[] } {
  const scaled = z.map((v) => v / t);
  const max = Math.max(...scaled);
  const logNormalizer = max + Math.log(scaled.reduce((s, v) => s + Math.exp(v - max), 0));
  return { logNormalizer, logprobs: scaled.map((v) => v - logNormalizer) };
}

function mixSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export class FakeScalingSession implements ScalingSession {
  readonly promptTokens: number;
  readonly cachedPromptTokens = 0;
  readonly maxTokens: number;
  readonly eogToken: number | null;
  readonly logits: LogitsFn;
  tokensEvaluated: number;
  /** The prompt, evaluated once (the fake keeps every chain's state: nothing is evaluated again). */
  readonly promptTokensEvaluated: number;
  /** Chains created (forks included) and not yet disposed. */
  live = 0;
  created = 0;
  forks = 0;
  /** Forks taken from a chain that was already done (SMC must never copy finished particles). */
  forksOfDoneChains = 0;
  /** Chains disposed while done (SMC: only the final particles). */
  disposedDone = 0;
  extendCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  closed = false;

  constructor(readonly options: FakeSessionOptions) {
    this.promptTokens = options.promptTokens ?? 5;
    this.tokensEvaluated = this.promptTokens;
    this.promptTokensEvaluated = this.promptTokens;
    this.maxTokens = options.maxTokens;
    this.eogToken = options.eog ? options.vocab : null;
    this.logits = options.logits ?? hashLogits(options.vocab + (options.eog ? 1 : 0), options.salt ?? 0);
  }

  chain(): ScalingChain {
    return this.newChain([]);
  }

  newChain(tokens: number[]): FakeChain {
    const index = this.created++;
    this.live++;
    return new FakeChain(this, tokens, rng(mixSeed(this.options.seed, index)));
  }

  /** p (T = 1) and q (T = options.temperature) after a prefix, with the entropy of p. */
  distributions(prefix: readonly number[]): { p: number[]; q: number[]; entropy: number; logNormalizer: number } {
    const z = this.logits(prefix);
    const p = logSoftmax(z, 1).logprobs;
    const q = logSoftmax(z, this.options.temperature);
    const entropy = -p.reduce((s, lp) => s + Math.exp(lp) * lp, 0);
    return { p, q: q.logprobs, entropy, logNormalizer: q.logNormalizer };
  }

  detokenize(tokens: readonly number[]): string {
    return tokens
      .filter((t) => t !== this.eogToken)
      .map((t) => String.fromCharCode(97 + t))
      .join("");
  }

  close(): void {
    this.closed = true;
  }
}

export class FakeChain implements ScalingChain {
  disposed = false;

  constructor(
    private readonly session: FakeScalingSession,
    private readonly held: number[],
    private readonly random: () => number,
  ) {}

  get tokens(): readonly number[] {
    this.check();
    return this.held;
  }

  get done(): boolean {
    this.check();
    const last = this.held[this.held.length - 1];
    return this.held.length >= this.session.maxTokens || (last !== undefined && last === this.session.eogToken);
  }

  fork(at: number): ScalingChain {
    this.check();
    if (!Number.isInteger(at) || at < 0 || at > this.held.length) throw new Error(`fork at ${at} outside the chain`);
    this.session.forks++;
    if (this.done) this.session.forksOfDoneChains++;
    return this.session.newChain(this.held.slice(0, at));
  }

  truncate(at: number): void {
    this.check();
    this.held.length = Math.min(this.held.length, at);
  }

  async extend(count: number): Promise<ScoredStep[]> {
    this.check();
    const session = this.session;
    session.extendCalls++;
    session.inFlight++;
    session.maxInFlight = Math.max(session.maxInFlight, session.inFlight);
    try {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.check();
      if (session.options.signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
      const steps: ScoredStep[] = [];
      while (steps.length < count && !this.done) {
        const d = session.distributions(this.held);
        const u = this.random();
        let token = d.q.length - 1;
        let cumulative = 0;
        for (let v = 0; v < d.q.length; v++) {
          cumulative += Math.exp(d.q[v]!);
          if (u < cumulative) {
            token = v;
            break;
          }
        }
        this.held.push(token);
        session.tokensEvaluated++;
        steps.push({
          token,
          logprob: d.p[token]!,
          proposalLogprob: d.q[token]!,
          logNormalizer: d.logNormalizer,
          entropy: session.options.entropy === false ? null : d.entropy,
          endOfGeneration: token === session.eogToken,
        });
      }
      return steps;
    } finally {
      session.inFlight--;
    }
  }

  dispose(): void {
    this.check();
    if (this.done) this.session.disposedDone++;
    this.disposed = true;
    this.session.live--;
  }

  private check(): void {
    if (this.disposed) throw new Error("chain used after dispose");
  }
}
