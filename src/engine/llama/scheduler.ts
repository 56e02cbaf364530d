// One scheduler loop per llama.cpp context. Every tick builds ONE native batch holding the next
// token of every decoding sequence plus a bounded chunk of pending prompts, decodes it, and
// samples each sequence that asked for logits. N concurrent requests therefore share each decode
// (continuous batching); a request joins between two ticks; a long prompt is spread over several
// ticks so it never stalls the others for its whole length.
import type { Llama, LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { SchedulerStats, SequenceStatus } from "../types.js";
import { createNativeSampler, nativeContext, type BatchLogitIndex, type NativeContext } from "./native.js";
import { ActiveSequence, type Job } from "./sequence.js";

export interface SchedulerOptions {
  /** Sequences the context was created with. */
  parallel: number;
  /** Positions per sequence. */
  contextSize: number;
  /** Most tokens in one native decode (the context's batch size). */
  batchSize: number;
  /** Most prompt tokens one sequence may add to a tick while others are decoding. */
  prefillChunk: number;
  /** Requests that may wait for a free sequence; more are refused. */
  maxQueue: number;
}

interface Slot {
  active: ActiveSequence | null;
  /** Tokens whose KV state the sequence still holds (prefix reuse). */
  cached: Token[];
}

interface BatchItem {
  seq: ActiveSequence;
  tokenCount: number;
  logitIndex: BatchLogitIndex | null;
}

export class ContextScheduler {
  private readonly native: NativeContext;
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly loopDone: Promise<void>;
  readonly stats: SchedulerStats = { decodeSteps: 0, sequencesDecoded: 0, promptTokensEvaluated: 0, tokensGenerated: 0 };

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    context: LlamaContext,
    private readonly modelId: string,
    private readonly options: SchedulerOptions,
  ) {
    this.native = nativeContext(context);
    this.slots = Array.from({ length: options.parallel }, () => ({ active: null, cached: [] }));
    this.loopDone = this.loop();
  }

  get contextSize(): number {
    return this.options.contextSize;
  }

  get queued(): number {
    return this.queue.length;
  }

  submit(job: Job): void {
    if (this.closed) throw new EngineError("not_ready", "The model is shutting down.");
    if (this.queue.length >= this.options.maxQueue && !this.slots.some((s) => s.active === null))
      throw new EngineError("overloaded", `All ${this.options.parallel} sequences are busy and ${this.queue.length} requests are waiting.`);
    this.queue.push(job);
    this.wakeUp();
  }

  /** Called when a job was cancelled, so the loop frees its sequence (or queue place) now. */
  wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
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
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.dropCancelled();
      this.admit();
      const active = this.activeSequences();
      if (active.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      try {
        await this.tick(active);
      } catch (error) {
        // A native failure poisons only the sequences of that batch; the loop goes on.
        const failure = new EngineError("internal", `Decoding failed: ${(error as Error).message}`);
        for (const seq of active) this.release(seq, failure);
      }
    }
    const shutdown = new EngineError("not_ready", "The model was unloaded.");
    for (const job of this.queue.splice(0)) job.channel.end(shutdown);
    for (const seq of this.activeSequences()) this.release(seq, shutdown);
  }

  private activeSequences(): ActiveSequence[] {
    const out: ActiveSequence[] = [];
    for (const slot of this.slots) if (slot.active) out.push(slot.active);
    return out;
  }

  private dropCancelled(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]!;
      if (job.cancelled) {
        this.queue.splice(i, 1);
        job.channel.end();
      }
    }
    for (const seq of this.activeSequences()) if (seq.job.cancelled) this.release(seq);
  }

  /** FIFO into free sequences, each job to the free sequence sharing the longest prefix. */
  private admit(): void {
    while (this.queue.length > 0) {
      const free = this.slots.map((slot, index) => ({ slot, index })).filter(({ slot }) => slot.active === null);
      if (free.length === 0) return;
      const job = this.queue.shift()!;
      let best = free[0]!;
      let bestShared = -1;
      for (const candidate of free) {
        const shared = sharedPrefixLength(candidate.slot.cached, job.promptTokens);
        if (shared > bestShared) {
          best = candidate;
          bestShared = shared;
        }
      }
      // The last prompt token is always evaluated again: its logits give the first new token.
      let reused = Math.min(bestShared, job.promptTokens.length - 1);
      if (!this.native.removeTokenCellsFromSequence(best.index, reused, -1)) {
        // Some memory types (recurrent, sliding-window) cannot drop a suffix: start over.
        this.native.removeTokenCellsFromSequence(best.index, 0, -1);
        reused = 0;
      }
      best.slot.cached = [];
      const sampler = createNativeSampler(this.llama, this.model, job.sampler);
      best.slot.active = new ActiveSequence(best.index, job, sampler, reused, (tokens) => this.model.detokenize(tokens));
    }
  }

  private async tick(active: ActiveSequence[]): Promise<void> {
    const items: BatchItem[] = [];
    const inputs: { seq: ActiveSequence; tokens: Uint32Array; withLogits: boolean }[] = [];
    let budget = this.options.batchSize;
    let decoding = 0;
    for (const seq of active) {
      if (seq.phase !== "decode" || seq.pendingToken === null) continue;
      inputs.push({ seq, tokens: Uint32Array.of(seq.pendingToken), withLogits: true });
      budget--;
      decoding++;
    }
    for (const seq of active) {
      if (seq.phase !== "prefill" || budget <= 0) continue;
      const limit = decoding > 0 ? Math.min(budget, this.options.prefillChunk) : budget;
      const count = Math.min(limit, seq.promptRemaining);
      const tokens = Uint32Array.from(seq.job.promptTokens.slice(seq.prefillPos, seq.prefillPos + count));
      inputs.push({ seq, tokens, withLogits: count === seq.promptRemaining });
      budget -= count;
    }

    this.native.initBatch(this.options.batchSize - budget);
    for (const { seq, tokens, withLogits } of inputs) {
      const logitIndexes = withLogits ? Uint32Array.of(tokens.length - 1) : new Uint32Array(0);
      const placed = this.native.addToBatch(seq.slot, seq.nPast, tokens, logitIndexes);
      items.push({ seq, tokenCount: tokens.length, logitIndex: withLogits ? (placed[0] as BatchLogitIndex) : null });
    }
    await this.native.decodeBatch();

    for (const item of items) {
      item.seq.nPast += item.tokenCount;
      if (item.seq.phase === "prefill") {
        item.seq.prefillPos += item.tokenCount;
        this.stats.promptTokensEvaluated += item.tokenCount;
      }
    }
    if (decoding > 0) {
      this.stats.decodeSteps++;
      this.stats.sequencesDecoded += decoding;
    }

    const sampled = await Promise.all(
      items.map((item) => (item.logitIndex === null ? null : this.native.sampleToken(item.logitIndex, item.seq.sampler))),
    );
    items.forEach((item, i) => {
      const token = sampled[i];
      if (token === null || token === undefined) return;
      const seq = item.seq;
      if (seq.job.cancelled) return; // freed at the start of the next tick
      if (token === -1) {
        this.release(seq, new EngineError("internal", "The sampler produced no token."));
        return;
      }
      this.stats.tokensGenerated++;
      const finish = seq.accept(token, this.model.isEogToken(token), this.options.contextSize);
      if (finish !== null) {
        seq.job.channel.push({
          type: "finish",
          finishReason: finish,
          usage: {
            promptTokens: seq.job.promptTokens.length,
            completionTokens: seq.generated.length,
            cachedPromptTokens: seq.cachedPromptTokens,
          },
        });
        this.release(seq);
      }
    });
  }

  /** Frees the sequence for the next job, keeping its KV state for prefix reuse. */
  private release(seq: ActiveSequence, error?: EngineError): void {
    const slot = this.slots[seq.slot]!;
    if (slot.active !== seq) return;
    slot.active = null;
    seq.sampler.dispose();
    if (error) {
      // Unknown KV state after a failure: forget it rather than reuse it.
      this.native.removeTokenCellsFromSequence(seq.slot, 0, -1);
      slot.cached = [];
    } else slot.cached = seq.cachedTokens();
    seq.job.channel.end(error);
  }
}

function sharedPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
