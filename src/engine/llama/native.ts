// Typed handles on node-llama-cpp internals (version pinned in package.json).
//
// Why internals: the public evaluate() API runs one generation loop per sequence, and those loops
// drift out of step so concurrent requests stop sharing decodes (measured 1.01 sequences per
// decode with 2 streams). lavash's scheduler drives the native batch directly: one decode per
// tick carrying every active sequence, its own chunked prefill, and samplers configured without
// the whole-vocabulary top-k sort the JS layer adds by default. test/engine/llama/native.test.ts pins
// the behaviour this file relies on.
import {
  LlamaGrammarEvaluationState,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";

export type BatchLogitIndex = number & { readonly __batchLogitIndex: never };

/** The slice of llama.cpp's context that the scheduler uses. */
export interface NativeContext {
  initBatch(size: number): void;
  /** Returns, for each entry of `logitIndexes`, where its logits sit in the batch. */
  addToBatch(sequenceId: number, firstPosition: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  /** Compute threads of the next decodes (llama_set_n_threads: single tokens and batches alike). */
  setThreads(threads: number): void;
  getThreads(): number;
  sampleToken(index: BatchLogitIndex, sampler: NativeSampler): Promise<Token | -1>;
  /**
   * Samples and also reports raw logits: `logits` = [filter tokens, includeMax, includeMin,
   * includeSelected, includeTop]; the reply's logits are flat [token, logit, token, logit, ...];
   * totalLogitWeight is the sum of exp(logit - maxLogit) over the candidates.
   */
  sampleToken(
    index: BatchLogitIndex,
    sampler: NativeSampler,
    probabilities: boolean,
    confidence: boolean,
    logits: [
      tokens: readonly number[],
      includeMax: boolean,
      includeMin: boolean,
      includeSelected: boolean,
      includeTop: number,
    ],
    totalLogitWeight: boolean,
  ): Promise<
    [
      token: Token | -1,
      probabilities: undefined,
      confidence: undefined,
      logits: number[] | undefined,
      totalLogitWeight: number | undefined,
    ]
  >;
  /** Samples and reports Σ exp(logit − max) over the candidates after the sampler's chain (one pass, no copy). */
  sampleToken(
    index: BatchLogitIndex,
    sampler: NativeSampler,
    probabilities: false,
    confidence: false,
    logits: false,
    totalLogitWeight: true,
  ): Promise<
    [
      token: Token | -1,
      probabilities: undefined,
      confidence: undefined,
      logits: undefined,
      totalLogitWeight: number | undefined,
    ]
  >;
  /** Samples and reports every candidate's logit (after the sampler's chain), sorted best first. */
  sampleToken(
    index: BatchLogitIndex,
    sampler: NativeSampler,
    probabilities: false,
    confidence: false,
    logits: true,
    totalLogitWeight: false,
  ): Promise<[token: Token | -1, probabilities: undefined, confidence: undefined, logits: number[] | undefined]>;
  /** Replaces the target sequence's KV cache with a copy of the source's. */
  copySequenceStateFromOtherSequence(targetSequenceId: number, sourceSequenceId: number): Promise<number>;
  /** Removes positions [start, end) of a sequence from the KV cache; end < 0 means "to the end". */
  removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
  getContextSize(): number;
}

export interface NativeSamplerConfig {
  /** Absent or <= 0: greedy (argmax). */
  temperature?: number;
  /** Absent: no nucleus filter (and no sort of the vocabulary). */
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  /** Penalty history: these tokens, then every token the sampler accepts (at most repeatPenaltyMaxTokens). */
  repeatPenaltyTokens?: Uint32Array;
  repeatPenaltyMaxTokens?: number;
  /** Multiplicative (HF/vLLM repetition_penalty); 1 = off. */
  repeatPenalty?: number;
  repeatPenaltyPresencePenalty?: number;
  repeatPenaltyFrequencyPenalty?: number;
  tokenBiasKeys?: Uint32Array;
  tokenBiasValues?: Float32Array;
  /** The native grammar state (one per sequence: it advances with each accepted token). */
  grammarEvaluationState?: unknown;
}

export interface NativeSampler {
  applyConfig(config: NativeSamplerConfig): void;
  dispose(): void;
}

interface ContextInternals {
  _ctx: NativeContext;
}
interface ModelInternals {
  _model: unknown;
}
interface LlamaInternals {
  _bindings: { AddonSampler: new (model: unknown) => NativeSampler };
}

interface GrammarStateInternals {
  _state: unknown;
}

/** A fresh grammar state for one sequence, in the form the native sampler takes. */
export function nativeGrammarState(model: LlamaModel, grammar: LlamaGrammar): unknown {
  return (new LlamaGrammarEvaluationState({ model, grammar }) as unknown as GrammarStateInternals)._state;
}

export function nativeContext(context: LlamaContext): NativeContext {
  return (context as unknown as ContextInternals)._ctx;
}

/**
 * A sampler owns its RNG state, so each generation gets its own: the same seed then gives the
 * same tokens whatever else runs in the batch.
 */
export function createNativeSampler(llama: Llama, model: LlamaModel, config: NativeSamplerConfig): NativeSampler {
  const Sampler = (llama as unknown as LlamaInternals)._bindings.AddonSampler;
  const sampler = new Sampler((model as unknown as ModelInternals)._model);
  configureSampler(sampler, config);
  return sampler;
}

/** (Re)configures a sampler; settings left unchanged keep their state (the RNG, for one). */
export function configureSampler(sampler: NativeSampler, config: NativeSamplerConfig): void {
  // Keys must be absent (not undefined) for the addon to leave those samplers out.
  const clean: NativeSamplerConfig = {};
  for (const [k, v] of Object.entries(config)) {
    if (v !== undefined) (clean as Record<string, unknown>)[k] = v;
  }
  sampler.applyConfig(clean);
}
