// Inference-time scaling sessions over one model's scheduler. A chain is a list of tokens after
// the session's prompt and a sampler of its own; extending it submits an ordinary job whose
// prompt is prompt + chain, so the scheduler's prefix reuse finds the KV state of the chain (or
// of the chain it was forked from) in whichever sequence holds it and evaluates only the rest.
// Forking and truncating are therefore free here: the KV cache is cut or copied when the chain
// next runs, in the sequence it runs in. Concurrent extensions share decodes like any requests.
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { EventChannel } from "../event-channel.js";
import { EngineError } from "../errors.js";
import type { GenerationEvent, ScalingChain, ScalingSession, ScoredStep } from "../types.js";
import { createNativeSampler, type NativeContext, type NativeSampler, type NativeSamplerConfig } from "./native.js";
import { choiceSeed } from "./sampler-config.js";
import type { ContextScheduler } from "./scheduler.js";
import { newJob, type ChainExtension } from "./sequence.js";
import { StepScorer } from "./step-scorer.js";

export interface ScalingSessionOptions {
  llama: Llama;
  model: LlamaModel;
  native: NativeContext;
  scheduler: ContextScheduler;
  promptTokens: readonly Token[];
  maxTokens: number;
  /** The proposal's sampler configuration (temperature, logit_bias) and the first chain's seed. */
  proposal: NativeSamplerConfig & { temperature: number; seed: number };
  entropy: boolean;
  reuseKvCache: boolean;
  signal?: AbortSignal;
  detokenize(tokens: readonly Token[]): string;
}

export class LlamaScalingSession implements ScalingSession {
  private chains = 0;
  private evaluated = 0;
  private prefilled = 0;
  private readonly live = new Set<LlamaChain>();
  private closed = false;
  cachedPromptTokens = 0;

  /** Jobs running now: an abort cancels them all (one listener, however many chains run). */
  private readonly running = new Set<() => void>();

  constructor(private readonly options: ScalingSessionOptions) {
    options.signal?.addEventListener("abort", () => [...this.running].forEach((cancel) => cancel()), { once: true });
  }

  get promptTokens(): number {
    return this.options.promptTokens.length;
  }

  get maxTokens(): number {
    return this.options.maxTokens;
  }

  get tokensEvaluated(): number {
    return this.evaluated;
  }

  get promptTokensEvaluated(): number {
    return this.prefilled;
  }

  /** Evaluates the prompt once (the chains then copy its KV state); refused like a request when the queue is full. */
  async start(): Promise<void> {
    this.cachedPromptTokens = (await this.run([], 0, null)).cachedPromptTokens;
  }

  chain(): ScalingChain {
    return this.newChain([]);
  }

  newChain(tokens: Token[]): LlamaChain {
    if (this.closed) throw new Error("The scaling session is closed.");
    const { proposal, llama, model, native, entropy } = this.options;
    const k = this.chains++;
    const seed = k === 0 ? proposal.seed : choiceSeed(proposal.seed, k);
    const bias = { tokenBiasKeys: proposal.tokenBiasKeys, tokenBiasValues: proposal.tokenBiasValues };
    const chain = new LlamaChain(
      this,
      tokens,
      createNativeSampler(llama, model, { ...proposal, seed }),
      new StepScorer(llama, model, native, bias, proposal.temperature, entropy),
    );
    this.live.add(chain);
    return chain;
  }

  detokenize(tokens: readonly number[]): string {
    return this.options.detokenize(tokens as Token[]);
  }

  close(): void {
    this.closed = true;
    for (const chain of [...this.live]) chain.dispose();
  }

  forget(chain: LlamaChain): void {
    this.live.delete(chain);
  }

  /**
   * Runs one job of `count` tokens after prompt + `tokens`, drawn and scored by `chain` (null: the
   * session's own prefill, admitted like a request); returns the steps and the reused prompt tokens.
   */
  async run(
    tokens: readonly Token[],
    count: number,
    chain: Pick<ChainExtension, "sampler" | "scorer"> | null,
  ): Promise<{ steps: ScoredStep[]; cachedPromptTokens: number }> {
    const { scheduler, promptTokens, signal } = this.options;
    if (signal?.aborted) throw new EngineError("aborted", "The request was cancelled.");
    const steps: ScoredStep[] = [];
    const channel = new EventChannel<GenerationEvent>(() => cancel());
    const job = newJob(
      {
        promptTokens: [...promptTokens, ...tokens],
        maxTokens: count,
        stop: [],
        samplers: [{}],
        logprobs: null,
        scoreChoices: false,
        echo: false,
        reproducible: true,
        channel,
        ...(chain
          ? {
              chain: {
                ...chain,
                onStep: (step: ScoredStep) => steps.push(step),
                reuseKvCache: this.options.reuseKvCache,
              },
            }
          : {}),
      },
      1,
    );
    const cancel = (): void => {
      if (job.cancelled) return;
      job.cancelled = true;
      scheduler.wakeUp();
    };
    this.running.add(cancel);
    try {
      scheduler.submit(job, chain !== null);
      let finished = false;
      for await (const event of channel) if (event.type === "finish") finished = true;
      if (!finished) throw new EngineError("aborted", "The request was cancelled.");
      return { steps, cachedPromptTokens: job.cachedPromptTokens };
    } finally {
      this.running.delete(cancel);
      this.evaluated += job.tokensEvaluated;
      this.prefilled += job.promptTokensEvaluated;
    }
  }
}

class LlamaChain implements ScalingChain {
  private held: Token[];
  private ended = false;
  private disposed = false;
  /** The extension in flight: the scheduler uses the sampler and scorer until it settles. */
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly session: LlamaScalingSession,
    tokens: Token[],
    readonly sampler: NativeSampler,
    readonly scorer: StepScorer,
  ) {
    this.held = tokens;
  }

  get tokens(): readonly number[] {
    return this.held;
  }

  get done(): boolean {
    return this.ended || this.held.length >= this.session.maxTokens;
  }

  fork(at: number): ScalingChain {
    return this.session.newChain(this.held.slice(0, at));
  }

  truncate(at: number): void {
    if (at < this.held.length) {
      this.held = this.held.slice(0, at);
      this.ended = false;
    }
  }

  async extend(count: number): Promise<ScoredStep[]> {
    const room = Math.min(count, this.session.maxTokens - this.held.length);
    if (this.ended || room <= 0) return [];
    if (this.disposed || this.running) throw new Error("A chain extends once at a time, until disposed.");
    const run = this.session.run(this.held, room, this);
    this.running = run;
    const { steps } = await run.finally(() => (this.running = null));
    for (const step of steps) this.held.push(step.token as Token);
    if (steps.at(-1)?.endOfGeneration) this.ended = true;
    return steps;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.forget(this);
    const free = (): void => {
      this.sampler.dispose();
      this.scorer.dispose();
    };
    if (this.running) void this.running.catch(() => undefined).finally(free);
    else free();
  }
}
