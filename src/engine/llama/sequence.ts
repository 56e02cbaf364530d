// A request (Job: one prompt, n choices) and one choice's state while it holds a sequence of the
// context: where its prompt is, what it has generated, and the text pipeline (token bytes →
// UTF-8 text → stop sequences), with each token's logprob released together with its text.
import type { Token } from "node-llama-cpp";
import type { EventChannel } from "../event-channel.js";
import { StopMatcher } from "../text/stop-matcher.js";
import { TokenTextDecoder } from "../text/token-text-decoder.js";
import type {
  FinishReason as AnyFinishReason,
  GenerationEvent,
  PositionedTokenLogprob,
  ScoredStep,
  TokenLogprob,
} from "../types.js";
import type { BatchLogitIndex, NativeSampler, NativeSamplerConfig } from "./native.js";
import type { TokenScorer } from "./token-scorer.js";

/** A request waiting for, or running in, sequences: one prompt evaluated once, n choices. */
export interface Job {
  readonly promptTokens: readonly Token[];
  /** Resolved bound: never more than the context has room for. */
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** One sampler configuration per choice (seeds differ). */
  readonly samplers: readonly NativeSamplerConfig[];
  /** Alternatives per scored token; null: generated tokens are not scored. */
  readonly logprobs: number | null;
  /** Sum each choice's token logprobs (best_of) even when `logprobs` is null. */
  readonly scoreChoices: boolean;
  readonly echo: boolean;
  /** A seed or greedy sampling fixes the output: it must not depend on the cache (Scheduler.start). */
  readonly reproducible: boolean;
  readonly channel: EventChannel<GenerationEvent>;
  cancelled: boolean;
  /** Choices not yet given a sequence, in order; choice 0 (the leader) evaluates the prompt. */
  readonly waiting: number[];
  /** The leader has evaluated the whole prompt, so other choices can copy its KV cache. */
  promptReady: boolean;
  running: number;
  finished: number;
  completionTokens: number;
  cachedPromptTokens: number;
  /** A grammar that each choice switches on once its text contains `trigger` (tool_choice auto). */
  readonly lazyGrammar?: LazyGrammar;
  /** Prompt tokens evaluated and tokens decoded for this job, re-evaluations included. */
  tokensEvaluated: number;
  /** Of those, the prompt's (prefill). */
  promptTokensEvaluated: number;
  /** An extension of an inference-time scaling chain (n = 1); see ChainExtension. */
  readonly chain?: ChainExtension;
}

/** What a job is given; the scheduler's bookkeeping starts from zero. */
export type JobSpec = Pick<
  Job,
  | "promptTokens"
  | "maxTokens"
  | "stop"
  | "samplers"
  | "logprobs"
  | "scoreChoices"
  | "echo"
  | "reproducible"
  | "channel"
  | "lazyGrammar"
  | "chain"
>;

/** A job for `spec` with its `choices` waiting, nothing evaluated yet. */
export function newJob(spec: JobSpec, choices: number): Job {
  return {
    ...spec,
    cancelled: false,
    waiting: Array.from({ length: choices }, (_, i) => i),
    promptReady: false,
    running: 0,
    finished: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    tokensEvaluated: 0,
    promptTokensEvaluated: 0,
  };
}

/**
 * Inference-time scaling extends chains through ordinary jobs whose prompt is the session's prompt
 * plus the chain's tokens. What differs from a request's job: the chain's sampler outlives the
 * job (its random stream continues), every token is scored, and the KV state is handled for
 * chains that branch and come back.
 */
export interface ChainExtension {
  /** Owned by the chain: used for choice 0 instead of a fresh one, never disposed by the scheduler. */
  readonly sampler: NativeSampler;
  /** Scores a sampled token; its result goes to onStep before the token is accepted. */
  readonly scorer: StepScoring;
  onStep(step: ScoredStep): void;
  /** false: evaluate the whole prompt again, reusing nothing (PITA's way, for comparison). */
  readonly reuseKvCache: boolean;
}

export interface StepScoring {
  /** Draws with the chain's sampler and scores the draw; null when the sampler produced no token. */
  score(index: BatchLogitIndex, sampler: NativeSampler): Promise<ScoredStep | null>;
}

export interface LazyGrammar {
  trigger: string;
  /** The text the grammar's language starts with; the trigger opens it. */
  opening: string;
  /** A native grammar state for the rest, given the part of `opening` already written. */
  stateAfter(written: string): Promise<unknown>;
}

export type Phase = "prefill" | "decode";

/** How a sequence's text ends (function calls are recognized in that text later, in the engine). */
type FinishReason = Exclude<AnyFinishReason, "tool_calls">;

interface PendingLogprob {
  entry: PositionedTokenLogprob;
  /** Characters pushed into the stop matcher once this token's text was. */
  end: number;
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
  logprobSum = 0;
  /** Scored prompt tokens, for echo (leader only). */
  readonly promptLogprobs: PositionedTokenLogprob[] = [];
  private readonly decoder: TokenTextDecoder<Token>;
  private readonly stops: StopMatcher;
  private decodedChars = 0;
  private pushedChars = 0;
  private emittedChars = 0;
  private readonly pendingLogprobs: PendingLogprob[] = [];
  /** The end of the decoded text (for a lazy grammar's trigger) and the last token's share of it. */
  recentText = "";
  lastPieceLength = 0;
  /** The job's lazy grammar has been switched on for this choice. */
  grammarOn = false;

  constructor(
    readonly slot: number,
    readonly job: Job,
    readonly choice: number,
    readonly sampler: NativeSampler,
    readonly scorer: TokenScorer | null,
    reusedTokens: number,
    private readonly detokenize: (tokens: readonly Token[]) => string,
    /** Delivers this choice's text events to the job's channel (the scheduler may hold them until its next decode is under way). */
    private readonly send: (event: GenerationEvent) => void,
  ) {
    this.prefillPos = reusedTokens;
    this.nPast = reusedTokens;
    this.decoder = new TokenTextDecoder(detokenize);
    this.stops = new StopMatcher([...job.stop]);
  }

  get promptRemaining(): number {
    return this.job.promptTokens.length - this.prefillPos;
  }

  /** True for the choice that evaluates the prompt and must score it for echo. */
  get scoresPrompt(): boolean {
    return this.choice === 0 && this.job.echo && this.job.logprobs !== null;
  }

  /**
   * Takes a sampled token (with its score when the job asked for one). Returns the finish reason
   * when the choice is over, else null. End-of-generation tokens count as generated but add no
   * text and no logprob entry.
   */
  accept(
    token: Token,
    isEndOfGeneration: boolean,
    contextSize: number,
    score: TokenLogprob | null,
  ): FinishReason | null {
    this.generated.push(token);
    if (score) this.logprobSum += score.logprob;
    if (isEndOfGeneration) return this.finishText("stop");
    const piece = this.decoder.push(token);
    if (this.job.lazyGrammar && !this.grammarOn) {
      this.recentText = (this.recentText + piece).slice(-256);
      this.lastPieceLength = piece.length;
    }
    if (score && this.job.logprobs !== null)
      this.pendingLogprobs.push({
        entry: { ...score, offset: this.decodedChars },
        end: this.pushedChars + piece.length,
      });
    this.decodedChars += piece.length;
    if (this.pushText(piece)) return "stop";
    if (this.generated.length >= this.job.maxTokens || this.nPast >= contextSize) return this.finishText("length");
    this.pendingToken = token;
    this.phase = "decode";
    return null;
  }

  /**
   * The part of the lazy grammar's opening written so far when the last token completed its
   * trigger, or null. The grammar can take over only where the text written since the trigger is
   * still a prefix of its language's opening.
   */
  lazyGrammarStart(): string | null {
    const lazy = this.job.lazyGrammar;
    if (!lazy || this.grammarOn) return null;
    const from = this.recentText.length - this.lastPieceLength - lazy.trigger.length + 1;
    const at = this.recentText.indexOf(lazy.trigger, Math.max(0, from));
    if (at < 0) return null;
    const written = this.recentText.slice(at);
    return lazy.opening.startsWith(written) ? written : null;
  }

  /** Tokens whose KV state the sequence holds (for prefix reuse and KV copies). */
  kvTokens(): Token[] {
    // The last sampled token was never evaluated, so it has no KV entry.
    return [...this.job.promptTokens, ...this.generated].slice(0, this.nPast);
  }

  /** The prompt as text with its tokens' offsets (and scores, when scored), for echo. */
  promptEvent(): GenerationEvent {
    const decoder = new TokenTextDecoder<Token>(this.detokenize);
    let text = "";
    const offsets: number[] = [];
    for (const token of this.job.promptTokens) {
      offsets.push(text.length);
      text += decoder.push(token);
    }
    text += decoder.flush();
    const logprobs = this.scoresPrompt
      ? this.promptLogprobs.map((entry, i) => ({ ...entry, offset: offsets[i]! }))
      : null;
    return { type: "prompt", text, logprobs };
  }

  private finishText(reason: FinishReason): FinishReason {
    // Held-back bytes can still complete a stop sequence, which then wins over `length`.
    const tail = this.decoder.flush();
    this.decodedChars += tail.length;
    if (this.pushText(tail)) return "stop";
    const rest = this.stops.flush();
    this.emittedChars += rest.length;
    this.emit(rest, this.releaseLogprobs(true));
    return reason;
  }

  /** Pushes decoded text through the stop matcher; true when a stop sequence completed. */
  private pushText(text: string): boolean {
    this.pushedChars += text.length;
    const out = this.stops.push(text);
    this.emittedChars += out.text.length;
    this.emit(out.text, this.releaseLogprobs(out.stopped));
    return out.stopped;
  }

  /** Logprob entries whose text has been emitted (all of them when the choice is over). */
  private releaseLogprobs(all: boolean): PositionedTokenLogprob[] | null {
    if (this.job.logprobs === null) return null;
    let n = 0;
    while (n < this.pendingLogprobs.length && (all || this.pendingLogprobs[n]!.end <= this.emittedChars)) n++;
    return this.pendingLogprobs.splice(0, n).map((p) => p.entry);
  }

  private emit(text: string, logprobs: PositionedTokenLogprob[] | null): void {
    if (text.length > 0 || (logprobs !== null && logprobs.length > 0))
      this.send({ type: "text", index: this.choice, text, logprobs });
  }
}
