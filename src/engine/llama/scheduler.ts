// One scheduler loop per llama.cpp context. Every tick builds ONE native batch holding the next
// token of every decoding sequence plus a bounded chunk of pending prompts, decodes it, and
// samples each sequence that asked for logits. N concurrent requests therefore share each decode
// (continuous batching); a request joins between two ticks; a long prompt is spread over several
// ticks so it never stalls the others for its whole length.
//
// KV reuse: a finished sequence keeps its cache; a new choice goes to the free sequence sharing
// the longest prefix with its prompt, or gets a copy of a better one held by any sequence (the
// other choices of an n>1 request copy their leader's evaluated prompt instead of evaluating it).
import type { Llama, LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { EventChannel } from "../event-channel.js";
import type { GenerationEvent, SchedulerStats, SequenceStatus, TokenLogprob } from "../types.js";
import {
  configureSampler,
  nativeContext,
  type BatchLogitIndex,
  type NativeContext,
  type NativeSampler,
} from "./native.js";
import { PrefillPacer } from "./prefill-pacer.js";
import { planPrefill } from "./prefill-plan.js";
import { SamplerPool } from "./sampler-pool.js";
import { ActiveSequence, type ChainExtension, type Job } from "./sequence.js";
import { ThreadTuner } from "./thread-tuner.js";
import { TokenScorer } from "./token-scorer.js";
import type { TokenPieces } from "./token-pieces.js";

/** Largest paced chunk (prefillChunk "auto"). */
const AUTO_MAX_CHUNK = 128;
/**
 * Context cells a prefix copy may move per prompt token it saves. A copy moves the source's whole KV
 * stream (placement()): on the 0.5B shape on 2 vCPUs, 32,768 cells took ~50 ms, where a prompt token
 * costs ~2.5 ms to evaluate again, so copies pay from ~1 token per 1,600 cells; at 1,024 a copy
 * saves at least 1.6 times what it costs there (docs/performance.md, "Prefix copies").
 */
const COPIED_CELLS_PER_TOKEN = 1024;
/** A tick with prompt tokens may take this many times a decode-only tick (prefillChunk "auto"). */
const AUTO_SLOWDOWN = 2.5;
/**
 * Longest wait for requests the server is still reading before the first decode after idle:
 * 8 requests sent at once reached the engine over 5-13 ms on 2 vCPUs (tiny model, measured).
 */
const GATHER_MAX_MS = 12;
/**
 * Shortest decode after which the rows ending their requests are sampled one at a time (see
 * tick). A sample over a 152k vocabulary takes ~1.5 ms on 2 vCPUs: after a 30 ms decode (the
 * 0.5B shape) one at a time costs little and lets the next requests make the next decode; after a
 * 3 ms one (tiny) it lengthens the tick by a third (docs/performance.md, "Answers first").
 */
const SERIAL_ENDINGS_MIN_DECODE_MS = 10;

export interface SchedulerOptions {
  /** Sequences the context was created with. */
  parallel: number;
  /** Positions per sequence. */
  contextSize: number;
  /** Most tokens in one native decode (the context's batch size). */
  batchSize: number;
  /**
   * Most prompt tokens a tick may carry while others are decoding; "auto": as many as keep the
   * tick within 2.5× a decode-only one (PrefillPacer), at most 128.
   */
  prefillChunk: number | "auto";
  /** Requests that may wait for a free sequence; more are refused. */
  maxQueue: number;
  /**
   * Requests on their way to this engine (the server has begun reading them): waking from idle,
   * the loop waits for them, at most GATHER_MAX_MS, so they share the first decode. Absent: none.
   */
  arriving?: () => number;
  /** Told what each tick is about to decode (tests and diagnostics). */
  onTick?: (tick: TickReport) => void;
  /**
   * Picks each decode's compute threads and is told how long it took: by default a ThreadTuner
   * over the threads the context was created with. Tests pass their own.
   */
  threads?: DecodeThreads;
  /**
   * Shortest decode (ms) after which the rows ending their requests are sampled one at a time
   * (see tick); default SERIAL_ENDINGS_MIN_DECODE_MS. Tests set it to see both orders on any CPU.
   */
  serialEndingsAfterMs?: number;
}

/** ThreadTuner's side of the scheduler. */
export interface DecodeThreads {
  choose(tokens: number): number;
  record(tokens: number, threads: number, ms: number): void;
}

/** One tick's batch, as planned before its decode. */
export interface TickReport {
  /** Sequences decoding a generated token. */
  decoding: number;
  /** Every sequence evaluating its prompt, in batch order: prompt tokens it had left, and how many this tick carries. */
  prefills: { slot: number; remaining: number; evaluated: number }[];
  /** Batch positions left unused. */
  room: number;
  /** The sequences in the batch, in the order they were laid out (ascending: see tick()). */
  layout: number[];
}

interface Slot {
  active: ActiveSequence | null;
  /** Tokens whose KV state the (free) sequence still holds. */
  cached: Token[];
  /** When the sequence was last freed (a counter): the least recently used state goes first. */
  freedAt: number;
}

interface BatchInput {
  seq: ActiveSequence;
  tokens: Uint32Array;
  /** Batch-local indexes (into `tokens`) whose logits are wanted. */
  logitIndexes: number[];
}

export class ContextScheduler {
  private readonly native: NativeContext;
  private readonly pacer: PrefillPacer | null;
  private readonly threads: DecodeThreads;
  /** The compute threads the context was last set to. */
  private threadsSet: number;
  private readonly samplers: SamplerPool;
  private readonly slots: Slot[];
  /** Sequences freed so far: Slot.freedAt's clock. */
  private frees = 0;
  private readonly queue: Job[] = [];
  /** Submission order of jobs: batches are laid out by it (see tick). */
  private readonly serials = new WeakMap<Job, number>();
  private nextSerial = 0;
  private wake: (() => void) | null = null;
  /** A wake-up came while the loop was not asleep (a job submitted during an `await`). */
  private missedWake = false;
  private closed = false;
  private readonly loopDone: Promise<void>;
  /**
   * Text events of the tick being sampled, handed to their consumers once the next decode is
   * queued: the consumers' work (SSE framing, JSON, socket writes: ~0.3-0.6 ms of main-thread
   * time per token over HTTP, measured) then runs while the native decode does instead of
   * between two decodes. A job's finish (and failure) flushes them first, so order is kept and a
   * finished request is answered at once.
   */
  private staged: [EventChannel<GenerationEvent>, GenerationEvent][] = [];
  readonly stats: SchedulerStats = {
    decodeSteps: 0,
    sequencesDecoded: 0,
    promptTokensEvaluated: 0,
    tokensGenerated: 0,
  };

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    context: LlamaContext,
    private readonly pieces: TokenPieces,
    private readonly modelId: string,
    private readonly options: SchedulerOptions,
  ) {
    this.native = nativeContext(context);
    this.pacer = options.prefillChunk === "auto" ? new PrefillPacer(AUTO_SLOWDOWN) : null;
    this.threadsSet = this.native.getThreads();
    this.threads = options.threads ?? new ThreadTuner(this.threadsSet);
    this.slots = Array.from({ length: options.parallel }, () => ({ active: null, cached: [], freedAt: 0 }));
    this.samplers = new SamplerPool(llama, model, options.parallel);
    this.loopDone = this.loop();
  }

  get contextSize(): number {
    return this.options.contextSize;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** `admitted`: part of a request already admitted (a scaling chain's extension, a legacy request's next prompt), never refused for the queue's length. */
  submit(job: Job, admitted = false): void {
    if (this.closed) throw new EngineError("not_ready", "The model is shutting down.");
    if (!admitted && this.queue.length >= this.options.maxQueue && !this.slots.some((s) => s.active === null))
      throw new EngineError(
        "overloaded",
        `All ${this.options.parallel} sequences are busy and ${this.queue.length} requests are waiting.`,
      );
    this.serials.set(job, this.nextSerial++);
    this.queue.push(job);
    this.wakeUp();
  }

  /** Called when a job was cancelled, so the loop frees its sequences (or queue place) now. */
  wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    // Not asleep yet (between admitting and sleeping): the loop looks again before it sleeps.
    if (w) w();
    else this.missedWake = true;
  }

  sequenceStatus(): SequenceStatus[] {
    return this.slots.map((slot, id) => ({
      id,
      state: slot.active === null ? "idle" : slot.active.phase,
      model: this.modelId,
      promptTokens: slot.active?.job.promptTokens.length ?? 0,
      generatedTokens: slot.active?.generated.length ?? 0,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp();
    await this.loopDone;
    this.samplers.dispose();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      try {
        this.dropCancelled();
        await this.admit();
        const active = this.activeSequences();
        if (active.length === 0) {
          this.flushEvents();
          if (!this.missedWake) await new Promise<void>((resolve) => (this.wake = resolve));
          this.missedWake = false;
          // Requests sent together reach the engine a few callbacks apart (a socket each): let
          // the rest of this event-loop turn's arrivals queue, and those the server is still
          // reading, so they start in the same decode.
          await new Promise<void>((resolve) => setImmediate(resolve));
          await this.gatherArrivals();
          continue;
        }
        await this.tick(active);
      } catch (error) {
        // A native failure poisons only the requests running now; the loop goes on.
        const failure = new EngineError("internal", `Decoding failed: ${(error as Error).message}`);
        for (const seq of this.activeSequences()) this.fail(seq.job, failure);
        this.flushEvents();
      }
    }
    this.flushEvents();
    const shutdown = new EngineError("not_ready", "The model was unloaded.");
    for (const job of [...this.queue]) this.fail(job, shutdown);
    for (const seq of this.activeSequences()) this.fail(seq.job, shutdown);
  }

  /**
   * Active sequences by (job submission, choice): the order in which a tick plans their prompt
   * tokens (the oldest request's floor first when the batch runs short). The batch itself is laid
   * out by sequence (tick()).
   */
  private activeSequences(): ActiveSequence[] {
    const out: ActiveSequence[] = [];
    for (const slot of this.slots) if (slot.active) out.push(slot.active);
    return out.sort((a, b) => this.serials.get(a.job)! - this.serials.get(b.job)! || a.choice - b.choice);
  }

  private dropCancelled(): void {
    for (const job of [...this.queue]) if (job.cancelled) this.fail(job);
    for (const seq of this.activeSequences()) if (seq.job.cancelled) this.fail(seq.job);
  }

  /**
   * Waits, at most GATHER_MAX_MS, while the server reports requests on their way here and
   * sequences are free for them; each submission wakes the loop to look again.
   */
  private async gatherArrivals(): Promise<void> {
    const arriving = this.options.arriving;
    if (!arriving) return;
    const deadline = performance.now() + GATHER_MAX_MS;
    for (;;) {
      const left = deadline - performance.now();
      const waiting = this.queue.reduce((n, job) => n + job.waiting.length, 0);
      const free = this.slots.filter((s) => s.active === null).length;
      if (left <= 0 || this.closed || waiting >= free || arriving() === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
      this.missedWake = false;
    }
  }

  /** Gives waiting choices free sequences, FIFO; a job's other choices wait for its prompt. */
  private async admit(): Promise<void> {
    for (const job of [...this.queue]) {
      while (job.waiting.length > 0 && (job.waiting[0] === 0 || job.promptReady)) {
        const target = this.slots.findIndex((s) => s.active === null);
        if (target < 0) return;
        await this.start(job, job.waiting.shift()!, null);
      }
      if (job.waiting.length === 0) this.queue.splice(this.queue.indexOf(job), 1);
    }
  }

  /**
   * Starts a choice in a free sequence, reusing a KV prefix where one is worth it: the free
   * sequence's own cache, or a copy of another sequence's (placement()). With `fork`, the choice
   * starts as a copy of its leader right after the leader's prompt was evaluated, sampling its
   * first token from the leader's logits (batch position `index`).
   */
  private async start(job: Job, choice: number, fork: { slot: number; index: BatchLogitIndex } | null): Promise<void> {
    const prompt = job.promptTokens;
    // Everything up to the first await is synchronous, so two starts never take the same sequence.
    let { target, copyFrom, reused } = fork
      ? { ...this.placement(prompt, 0), copyFrom: fork.slot, reused: prompt.length }
      : this.placement(
          prompt,
          // Echo scoring needs the logits of every prompt position: it evaluates the whole prompt.
          (job.echo && job.logprobs !== null && choice === 0) || job.chain?.reuseKvCache === false
            ? 0
            : prompt.length - reevaluatedPromptTokens(job),
        );
    // Chains branch and come back (an MH proposal that is rejected, SMC's copies): rather than
    // cut a longer state, leave it for later and take a copy into a spare free sequence.
    if (!fork && job.chain && copyFrom < 0 && reused > 0 && this.slots[target]!.cached.length > reused) {
      const spare = this.spareSlot(target);
      if (spare >= 0) [copyFrom, target] = [target, spare];
    }
    const slot = this.slots[target]!;
    slot.cached = [];
    const sampler = job.chain?.sampler ?? this.samplers.acquire(job.samplers[choice]!);
    const scorer =
      job.logprobs !== null || job.scoreChoices
        ? new TokenScorer(this.llama, this.model, this.native, this.pieces, job.logprobs ?? 0)
        : null;
    const seq = new ActiveSequence(
      target,
      job,
      choice,
      sampler,
      scorer,
      reused,
      (tokens) => this.model.detokenize(tokens),
      (event) => this.staged.push([job.channel, event]),
    );
    slot.active = seq;
    job.running++;
    if (choice === 0 && reused > 0) job.cachedPromptTokens = reused;

    if (copyFrom >= 0) await this.native.copySequenceStateFromOtherSequence(target, copyFrom);
    if (!this.native.removeTokenCellsFromSequence(target, seq.nPast, -1)) {
      // Some memory types (recurrent, sliding-window) cannot drop a suffix: start over.
      this.native.removeTokenCellsFromSequence(target, 0, -1);
      seq.nPast = seq.prefillPos = 0;
    }
    if (fork && seq.nPast === prompt.length) {
      const token = await this.native.sampleToken(fork.index, sampler);
      if (token === -1) throw new Error("The sampler produced no token.");
      await this.acceptToken(seq, token, scorer ? await scorer.score(fork.index, token) : null);
    }
  }

  /**
   * Prompt tokens a (non-chain) job for `prompt` starting now would reuse, as start() places it
   * (placement()); none when `scratch` (echo with logprobs evaluates all). With no sequence free,
   * the longest prefix any sequence holds: the one that frees first may be the one it holds.
   * Reads the slots only: nothing is copied, evaluated or taken.
   */
  cachedPrefix(prompt: readonly Token[], scratch: boolean, reproducible: boolean): number {
    const limit = scratch ? 0 : prompt.length - reevaluatedPromptTokens({ reproducible });
    if (this.slots.some((slot) => slot.active === null)) return this.placement(prompt, limit).reused;
    let best = 0;
    for (const slot of this.slots) best = Math.max(best, sharedPrefixLength(slot.active!.kvTokens(), prompt));
    return Math.max(0, Math.min(best, limit));
  }

  /**
   * Where a choice for `prompt` starts, reusing at most `limit` prompt tokens (the rest is
   * evaluated again): the free sequence it takes (`target`, -1 if none is free), the sequence
   * whose state is copied into it first (`copyFrom`, -1 for none), and the prompt tokens it then
   * reuses. Reads the slots only.
   *
   * A free sequence that holds most of its own state as this prompt's prefix (the next turn of its
   * conversation, the same prompt again) is reused in place. Otherwise its state is worth more to
   * the prompts it came from than a few shared tokens (every chat shares its template's first
   * tokens) are to this one: it takes the free sequence least worth keeping. A longer prefix held
   * by another sequence is copied in when it is at least minCopiedPrefix() tokens: each sequence
   * has its own KV stream, and llama.cpp copies the source's whole stream, every cell of the
   * context on every layer, whatever the prefix's length, inside the next decode.
   */
  private placement(prompt: readonly Token[], limit: number): { target: number; copyFrom: number; reused: number } {
    const reusable = (held: readonly Token[]): number => Math.max(0, Math.min(sharedPrefixLength(held, prompt), limit));
    // Only free sequences next to running ones, where there are such: see compactFreeSlots().
    const candidates = this.compactFreeSlots();
    let target = -1;
    let reused = -1;
    for (const i of candidates) {
      const shared = sharedPrefixLength(this.slots[i]!.cached, prompt);
      if (shared > reused) [reused, target] = [shared, i];
    }
    if (target >= 0 && reused * 2 < this.slots[target]!.cached.length) target = this.spareSlot(-1, candidates);
    reused = target >= 0 ? reusable(this.slots[target]!.cached) : 0;
    let copyFrom = -1;
    const shortestCopy = this.minCopiedPrefix();
    for (const [i, slot] of this.slots.entries()) {
      if (i === target) continue;
      const shared = reusable(slot.active ? slot.active.kvTokens() : slot.cached);
      if (shared > reused && shared >= shortestCopy) [reused, copyFrom] = [shared, i];
    }
    return { target, copyFrom, reused };
  }

  /**
   * The shortest prefix worth copying from another sequence: one prompt token per COPIED_CELLS_PER_TOKEN
   * cells of the context that the copy moves (see placement()).
   */
  private minCopiedPrefix(): number {
    return Math.max(1, Math.ceil(this.options.contextSize / COPIED_CELLS_PER_TOKEN));
  }

  /**
   * The free sequence (other than `except`, and among `among`: every sequence by default) whose
   * cached state is the least worth keeping: an empty one, else the least recently used.
   */
  private spareSlot(except: number, among: readonly number[] = [...this.slots.keys()]): number {
    let best = -1;
    const worth = (slot: Slot) => (slot.cached.length === 0 ? -1 : slot.freedAt);
    for (const i of among) {
      const slot = this.slots[i]!;
      if (i !== except && slot.active === null && (best < 0 || worth(slot) < worth(this.slots[best]!))) best = i;
    }
    return best;
  }

  /**
   * The free sequences with the most running neighbours (ids one below and one above), in id
   * order: a new sequence there joins or extends a run of consecutive ids, which llama.cpp
   * evaluates as one ubatch (see tick()); anywhere else it starts a run of its own, another pass
   * over the weights on every tick they share. A prefix held elsewhere may be copied in (placement()).
   */
  private compactFreeSlots(): number[] {
    const running = (i: number): number => (this.slots[i]?.active ? 1 : 0);
    let most = -1;
    let out: number[] = [];
    for (const [i, slot] of this.slots.entries()) {
      if (slot.active !== null) continue;
      const neighbours = running(i - 1) + running(i + 1);
      if (neighbours > most) [most, out] = [neighbours, []];
      if (neighbours === most) out.push(i);
    }
    return out;
  }

  private async tick(active: ActiveSequence[]): Promise<void> {
    const inputs: BatchInput[] = [];
    let budget = this.options.batchSize;
    let decoding = 0;
    for (const seq of active) {
      if (seq.phase !== "decode" || seq.pendingToken === null) continue;
      inputs.push({ seq, tokens: Uint32Array.of(seq.pendingToken), logitIndexes: [0] });
      budget--;
      decoding++;
    }
    // While others decode, prompt tokens share one allowance per tick (fixed, or paced), above
    // each prefilling sequence's floor (planPrefill: none of them waits while others decode).
    const prefilling = active.filter((seq) => seq.phase === "prefill");
    const allowance =
      decoding === 0
        ? budget
        : this.pacer
          ? this.pacer.allowance(AUTO_MAX_CHUNK)
          : (this.options.prefillChunk as number);
    const counts = planPrefill(
      prefilling.map((seq) => seq.promptRemaining),
      budget,
      allowance,
    );
    let promptTokens = 0;
    for (const [i, seq] of prefilling.entries()) {
      const count = counts[i]!;
      if (count <= 0) continue;
      const tokens = Uint32Array.from(seq.job.promptTokens.slice(seq.prefillPos, seq.prefillPos + count));
      const last = count === seq.promptRemaining;
      const logitIndexes = seq.scoresPrompt ? tokens.map((_, i) => i) : last ? [count - 1] : [];
      inputs.push({ seq, tokens, logitIndexes: [...logitIndexes] });
      budget -= count;
      promptTokens += count;
    }
    // By sequence id. Each sequence has its own KV stream (node-llama-cpp creates contexts with
    // kv_unified off), and llama.cpp then splits a batch into ubatches that each hold a run of
    // consecutive sequence ids, the run starting at the first unused entry of the batch: every
    // ubatch is another pass over all the weights. Laid out in request order, 16 streams whose
    // requests had taken the sequences in another order went in up to 16 ubatches a decode, and ran
    // at half the speed (docs/performance.md, "One ubatch a decode").
    inputs.sort((a, b) => a.seq.slot - b.seq.slot);
    this.options.onTick?.({
      decoding,
      prefills: prefilling.map((seq, i) => ({ slot: seq.slot, remaining: seq.promptRemaining, evaluated: counts[i]! })),
      room: budget,
      layout: inputs.map((input) => input.seq.slot),
    });

    const batchTokens = this.options.batchSize - budget;
    this.native.initBatch(batchTokens);
    const placed = inputs.map(({ seq, tokens, logitIndexes }) =>
      this.native.addToBatch(seq.slot, seq.nPast, tokens, Uint32Array.from(logitIndexes)),
    );
    const threads = this.threads.choose(batchTokens);
    if (threads !== this.threadsSet) {
      this.native.setThreads(threads);
      this.threadsSet = threads;
    }
    const started = performance.now();
    const decoded = this.native.decodeBatch();
    this.flushEvents();
    await decoded;
    const decodeMs = performance.now() - started;
    this.threads.record(batchTokens, threads, decodeMs);
    this.pacer?.record(decoding, promptTokens, decodeMs);
    if (decoding > 0) {
      this.stats.decodeSteps++;
      this.stats.sequencesDecoded += decoding;
    }

    // Sampling (and scoring) of different sequences is independent. Each sequence's events are
    // handed over as soon as it is sampled while others still are (its token reaches the client a
    // few samples earlier); the last one's wait for the next decode (staged). After a long decode,
    // rows that end their request go first, one at a time: libuv's pool has a thread per core, and
    // a sample running alone keeps a core free for the main thread to write those answers and read
    // the requests that follow, which then join the next decode instead of the one after. The rest
    // run concurrently, on every pool thread.
    const serialEndings = decodeMs >= (this.options.serialEndingsAfterMs ?? SERIAL_ENDINGS_MIN_DECODE_MS);
    const ending = inputs.map((input) => serialEndings && samplesLastToken(input));
    let left = inputs.length;
    const sample = async (i: number): Promise<void> => {
      await this.afterDecode(inputs[i]!, placed[i]!);
      if (--left > 0) this.flushEvents();
    };
    for (const [i, ends] of ending.entries()) if (ends) await sample(i);
    await Promise.all(ending.flatMap((ends, i) => (ends ? [] : [sample(i)])));
  }

  private async afterDecode({ seq, tokens, logitIndexes }: BatchInput, placed: Uint32Array): Promise<void> {
    const wasPrefill = seq.phase === "prefill";
    seq.nPast += tokens.length;
    seq.job.tokensEvaluated += tokens.length;
    if (wasPrefill) {
      if (seq.scoresPrompt) await this.scorePrompt(seq, tokens, placed);
      seq.prefillPos += tokens.length;
      this.stats.promptTokensEvaluated += tokens.length;
      seq.job.promptTokensEvaluated += tokens.length;
      if (seq.promptRemaining > 0) return;
    }
    if (seq.job.cancelled) return; // freed at the start of the next tick
    const index = placed[logitIndexes.length - 1] as BatchLogitIndex;
    if (wasPrefill && seq.choice === 0) {
      seq.job.promptReady = true;
      if (seq.job.echo) this.staged.push([seq.job.channel, seq.promptEvent()]);
      if (seq.job.maxTokens === 0) {
        this.finish(seq, "length");
        return;
      }
      await this.forkWaitingChoices(seq, index);
    }
    const token = seq.job.chain
      ? await this.drawChainStep(seq.job.chain, index, seq.sampler)
      : await this.native.sampleToken(index, seq.sampler);
    if (token === -1) {
      this.fail(seq.job, new EngineError("internal", "The sampler produced no token."));
      return;
    }
    const score = seq.scorer ? await seq.scorer.score(index, token) : null;
    await this.acceptToken(seq, token, score);
  }

  /** A scaling chain's draw, scored and handed to the chain before the token is accepted. */
  private async drawChainStep(
    chain: ChainExtension,
    index: BatchLogitIndex,
    sampler: NativeSampler,
  ): Promise<Token | -1> {
    const step = await chain.scorer.score(index, sampler);
    if (step === null) return -1;
    chain.onStep(step);
    return step.token as Token;
  }

  /**
   * Right after the leader's prompt is evaluated, the job's other choices that find a free
   * sequence start as copies of it, sampling their first token from the same logits: the prompt
   * is evaluated once for all n choices. The others copy it later, when sequences free up.
   */
  private async forkWaitingChoices(leader: ActiveSequence, index: BatchLogitIndex): Promise<void> {
    const job = leader.job;
    const forks: Promise<void>[] = [];
    while (job.waiting.length > 0 && this.slots.some((s) => s.active === null))
      forks.push(this.start(job, job.waiting.shift()!, { slot: leader.slot, index }));
    await Promise.all(forks);
    if (job.waiting.length === 0) {
      const at = this.queue.indexOf(job);
      if (at >= 0) this.queue.splice(at, 1);
    }
  }

  private async acceptToken(seq: ActiveSequence, token: Token, score: TokenLogprob | null): Promise<void> {
    this.stats.tokensGenerated++;
    const finish = seq.accept(token, this.model.isEogToken(token), this.options.contextSize, score);
    if (finish !== null) this.finish(seq, finish);
    else await this.startLazyGrammar(seq);
  }

  /**
   * Switches the job's lazy grammar on for this choice once its trigger is written. The sampler
   * keeps its RNG; its penalty history is given again in full, since reconfiguring resets it.
   */
  private async startLazyGrammar(seq: ActiveSequence): Promise<void> {
    const written = seq.lazyGrammarStart();
    if (written === null) return;
    seq.grammarOn = true;
    const config = seq.job.samplers[seq.choice]!;
    const history = config.repeatPenaltyTokens
      ? Uint32Array.from([...config.repeatPenaltyTokens, ...seq.generated])
      : undefined;
    const grammarEvaluationState = await seq.job.lazyGrammar!.stateAfter(written);
    configureSampler(seq.sampler, { ...config, repeatPenaltyTokens: history, grammarEvaluationState });
  }

  private async scorePrompt(seq: ActiveSequence, tokens: Uint32Array, placed: Uint32Array): Promise<void> {
    const prompt = seq.job.promptTokens;
    if (seq.prefillPos === 0) {
      // The first prompt token has nothing before it to predict it: a placeholder entry.
      const first = prompt[0]!;
      seq.promptLogprobs.push({
        token: first,
        text: this.pieces.text(first),
        bytes: this.pieces.bytes(first),
        logprob: 0,
        top: [],
        offset: 0,
      });
    }
    for (let i = 0; i < tokens.length; i++) {
      const next = prompt[seq.prefillPos + i + 1];
      if (next === undefined) break;
      const score = await seq.scorer!.score(placed[i] as BatchLogitIndex, next);
      seq.promptLogprobs.push({ ...score, offset: 0 });
    }
  }

  private finish(seq: ActiveSequence, reason: "stop" | "length"): void {
    const job = seq.job;
    this.flushEvents();
    job.channel.push({
      type: "finish",
      index: seq.choice,
      finishReason: reason,
      completionTokens: seq.generated.length,
      logprobSum: seq.scorer ? seq.logprobSum : null,
    });
    job.completionTokens += seq.generated.length;
    job.finished++;
    this.release(seq, false);
    if (job.finished === job.samplers.length) {
      job.channel.push({
        type: "usage",
        usage: {
          promptTokens: job.promptTokens.length,
          completionTokens: job.completionTokens,
          cachedPromptTokens: job.cachedPromptTokens,
        },
      });
      job.channel.end();
    }
  }

  /** Ends a job: frees every sequence it holds and leaves the queue. */
  private fail(job: Job, error?: EngineError): void {
    this.flushEvents();
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
    job.waiting.length = 0;
    for (const seq of this.activeSequences()) if (seq.job === job) this.release(seq, error !== undefined);
    job.channel.end(error);
  }

  /** Frees the sequence for the next job, keeping its KV state for prefix reuse. */
  private release(seq: ActiveSequence, forget: boolean): void {
    const slot = this.slots[seq.slot]!;
    if (slot.active !== seq) return;
    slot.active = null;
    slot.freedAt = ++this.frees;
    // After a failure a sample may still be running on the sampler: never hand that one out again.
    if (seq.sampler !== seq.job.chain?.sampler) {
      if (forget) seq.sampler.dispose();
      else this.samplers.release(seq.sampler);
    }
    seq.scorer?.dispose();
    seq.job.running--;
    if (forget) {
      // Unknown KV state after a failure: forget it rather than reuse it.
      this.native.removeTokenCellsFromSequence(seq.slot, 0, -1);
      slot.cached = [];
    } else slot.cached = seq.kvTokens();
  }

  private flushEvents(): void {
    if (this.staged.length === 0) return;
    const staged = this.staged;
    this.staged = [];
    for (const [channel, event] of staged) channel.push(event);
  }
}

/**
 * Whether this row's sample is its sequence's last token: max_tokens is then reached (a stop
 * sequence or end-of-generation token can end it too, but is not known before the sample).
 */
function samplesLastToken({ seq, tokens, logitIndexes }: BatchInput): boolean {
  const samples = logitIndexes.length > 0 && (seq.phase === "decode" || tokens.length === seq.promptRemaining);
  return samples && seq.generated.length + 1 >= seq.job.maxTokens;
}

function sharedPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * How many of a prompt's last tokens a job evaluates again even when the KV cache holds them: the
 * last one's logits give the first new token. A seeded or greedy job evaluates two: llama.cpp's
 * logits for a token evaluated alone differ in the last bits from the same token evaluated with
 * others (F16 kernels; on AMX CPUs one row takes another kernel than several), which would make
 * its output depend on what the cache held. Prefill never ends with a one-token chunk either
 * (see tick), so cached and uncached runs compute the same numbers. A job with a fresh random
 * seed promises nothing across requests and evaluates one, as llama-server does: on AMX the one
 * row costs about 25% less than two (docs/performance.md). A chain's extension continues its own
 * decoding: only its last sampled token is new, and plain decoding evaluates that token alone too.
 */
export function reevaluatedPromptTokens(job: Pick<Job, "reproducible" | "chain">): number {
  return job.chain || !job.reproducible ? 1 : 2;
}
