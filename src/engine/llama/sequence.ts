// One generation's state while it holds a sequence of the context: where its prompt is, what
// it has generated, and the text pipeline (token bytes → UTF-8 text → stop sequences).
import type { Token } from "node-llama-cpp";
import { EventChannel } from "../event-channel.js";
import { StopMatcher } from "../text/stop-matcher.js";
import { TokenTextDecoder } from "../text/token-text-decoder.js";
import type { FinishReason, GenerationEvent } from "../types.js";
import type { NativeSampler, NativeSamplerConfig } from "./native.js";

/** A request waiting for, or running in, a sequence. */
export interface Job {
  readonly promptTokens: readonly Token[];
  /** Resolved bound: never more than the context has room for. */
  readonly maxTokens: number;
  readonly stop: readonly string[];
  readonly sampler: NativeSamplerConfig;
  readonly channel: EventChannel<GenerationEvent>;
  cancelled: boolean;
}

export type Phase = "prefill" | "decode";

export interface TextPipeline {
  decoder: TokenTextDecoder<Token>;
  stops: StopMatcher;
}

export class ActiveSequence {
  phase: Phase = "prefill";
  /** Next prompt index to evaluate during prefill. */
  prefillPos: number;
  /** Number of positions of this sequence held in the KV cache. */
  nPast: number;
  /** Sampled, emitted, not yet evaluated: the input of the next decode. */
  pendingToken: Token | null = null;
  readonly generated: Token[] = [];
  readonly cachedPromptTokens: number;
  private readonly text: TextPipeline;

  constructor(
    readonly slot: number,
    readonly job: Job,
    readonly sampler: NativeSampler,
    reusedTokens: number,
    detokenize: (tokens: readonly Token[]) => string,
  ) {
    this.prefillPos = reusedTokens;
    this.nPast = reusedTokens;
    this.cachedPromptTokens = reusedTokens;
    this.text = { decoder: new TokenTextDecoder(detokenize), stops: new StopMatcher([...job.stop]) };
  }

  get promptRemaining(): number {
    return this.job.promptTokens.length - this.prefillPos;
  }

  /**
   * Takes a sampled token. Returns the finish reason when the generation is over, else null.
   * End-of-generation tokens count as generated but add no text.
   */
  accept(token: Token, isEndOfGeneration: boolean, contextSize: number): FinishReason | null {
    this.generated.push(token);
    if (isEndOfGeneration) return this.finishText("stop");
    const { text, stopped } = this.text.stops.push(this.text.decoder.push(token));
    this.emit(text);
    if (stopped) return "stop";
    if (this.generated.length >= this.job.maxTokens || this.nPast >= contextSize) return this.finishText("length");
    this.pendingToken = token;
    this.phase = "decode";
    return null;
  }

  /** Tokens whose KV state stays in the sequence after it finishes (for prefix reuse). */
  cachedTokens(): Token[] {
    // The last sampled token was never evaluated, so it has no KV entry.
    return [...this.job.promptTokens, ...this.generated].slice(0, this.nPast);
  }

  private finishText(reason: FinishReason): FinishReason {
    // Held-back bytes can still complete a stop sequence, which then wins over `length`.
    const { text, stopped } = this.text.stops.push(this.text.decoder.flush());
    this.emit(text);
    if (stopped) return "stop";
    this.emit(this.text.stops.flush());
    return reason;
  }

  private emit(text: string): void {
    if (text.length > 0) this.job.channel.push({ type: "text", text });
  }
}
