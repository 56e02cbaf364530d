// The contract between the HTTP layer and whatever produces tokens. Nothing here knows about
// HTTP or about llama.cpp: the server maps API requests onto these types, and each engine
// (local llama, upstream gateway) implements them.

export type ChatRole = "system" | "developer" | "user" | "assistant" | "tool";

/** A function call the assistant made earlier in the conversation. */
export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Assistant turns: the calls it made. */
  toolCalls?: ToolCall[];
  /** Tool turns: which call this is the result of. */
  toolCallId?: string;
}

/** A function the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object; absent: any object. */
  parameters?: Record<string, unknown>;
  /** Arguments must match `parameters` exactly under OpenAI's strict-mode rules. */
  strict: boolean;
}

/**
 * Tool calling for one request. `auto`: the model chooses text or calls; `required`: at least one
 * call; `{name}`: exactly that function. The call syntax is the model's own (its chat template).
 */
export interface ToolCalling {
  tools: ToolDefinition[];
  toolChoice: "auto" | "required" | { name: string };
  /** false: at most one call per turn. */
  parallel: boolean;
}

/** What to generate from: a chat rendered by the model's own template, raw text, or token ids. */
export type PromptInput =
  | {
      kind: "chat";
      messages: ChatMessage[];
      /** Rendered into the prompt and callable (tool_choice "none": neither). */
      tools?: ToolCalling;
      /** Split a leading `<think>…</think>` off the text as `reasoning` events. */
      separateReasoning?: boolean;
    }
  | { kind: "text"; text: string /** Fill-in-the-middle: the text that follows the insertion. */; suffix?: string }
  | { kind: "tokens"; tokens: number[] };

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  /** Fixed seed: identical requests give identical output. Undefined: a fresh random seed. */
  seed?: number;
  /** Extension (vLLM's top_k): keep the k most likely tokens. Absent: no top-k. */
  topK?: number;
  /** Extension (vLLM's min_p). Absent: off. */
  minP?: number;
  /** OpenAI's, over generated tokens: logit -= count * frequency + (count > 0) * presence. */
  presencePenalty?: number;
  frequencyPenalty?: number;
  /**
   * Extension (vLLM's repetition_penalty), over prompt and generated tokens; 1 = off. Exclusive
   * with the presence and frequency penalties (llama.cpp keeps one token history for all three).
   */
  repetitionPenalty?: number;
  /** Added to the logits of these token ids; -100 bans the token. */
  logitBias?: readonly (readonly [token: number, bias: number])[];
}

export interface GenerateRequest {
  model: string;
  prompt: PromptInput;
  /** Upper bound on generated tokens; null means "until the context is full". */
  maxTokens: number | null;
  /** Generation ends before any of these strings; they are not part of the output. */
  stop: string[];
  sampling: SamplingParams;
  /** Completions generated from the one evaluated prompt (each its own sequence); default 1. */
  n?: number;
  /** Report each generated token's logprob with this many alternatives (0..20); absent: none. */
  logprobs?: number;
  /** Track each choice's summed token logprob (for best_of ranking) even without `logprobs`. */
  scoreChoices?: boolean;
  /** Send a `prompt` event with the prompt's text; with `logprobs`, its tokens scored too. */
  echo?: boolean;
  /** Constrain the output to one JSON value (grammar-constrained decoding); absent: free text. */
  outputConstraint?: OutputConstraint;
  /** Aborting frees the sequence at the next scheduler tick (queued requests leave the queue). */
  signal?: AbortSignal;
  /**
   * Another prompt of a request whose first prompt was already accepted: queued whatever the
   * queue's length (the endpoint bounds a request's choices), so a request with more prompts than
   * the queue holds is not refused on every retry.
   */
  continuesAcceptedRequest?: boolean;
}

/** A grammar the whole output must follow (the wire's response_format json_object / json_schema). */
export type OutputConstraint =
  | { kind: "json_object" }
  /** `strict` as OpenAI's json_schema.strict: the schema must follow strict mode's rules. */
  | { kind: "json_schema"; schema: unknown; strict: boolean };

/** `tool_calls`: the choice ended with function calls (tool_choice auto or required). */
export type FinishReason = "stop" | "length" | "tool_calls";

/** One candidate token at a position, scored under the model's raw distribution. */
export interface TokenAlternative {
  token: number;
  /** The token's text; a token holding part of a UTF-8 character is written `bytes:\\xe4\\xbd`. */
  text: string;
  /** The token's exact bytes. */
  bytes: number[];
  /** ln p(token | context) before temperature, penalties, biases and top-p/top-k. */
  logprob: number;
}

/** A generated (or echoed prompt) token with its logprob and the most likely alternatives. */
export interface TokenLogprob extends TokenAlternative {
  /** Most likely tokens at this position, best first (k as requested; may include this token). */
  top: TokenAlternative[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose KV state was reused from an earlier request instead of evaluated. */
  cachedPromptTokens: number;
}

/** A token of the output with where its text starts in the choice's generated text. */
export interface PositionedTokenLogprob extends TokenLogprob {
  /** Characters of this choice's text (or of the prompt text) before this token's text. */
  offset: number;
}

export type GenerationEvent =
  /** Once, before any text, when `echo` was asked: the prompt as text (the first token has no logprob). */
  | { type: "prompt"; text: string; logprobs: PositionedTokenLogprob[] | null }
  /** Text of choice `index` that is final: valid UTF-8, and never part of a stop sequence. */
  | { type: "text"; index: number; text: string; logprobs: PositionedTokenLogprob[] | null }
  /** Chain-of-thought text of choice `index` (only with `separateReasoning`). */
  | { type: "reasoning"; index: number; text: string }
  /** Choice `index` opens its `call`-th function call (0, 1, ... in order); arguments follow. */
  | { type: "tool_call"; index: number; call: number; id: string; name: string }
  /** A fragment of the JSON arguments of the choice's latest call. */
  | { type: "tool_arguments"; index: number; call: number; text: string }
  | { type: "finish"; index: number; finishReason: FinishReason; completionTokens: number; logprobSum: number | null }
  /** Last: totals over all choices. */
  | { type: "usage"; usage: Usage };

/**
 * A generation admitted by the engine: the prompt is tokenized and known to fit. Iterating it
 * waits for a free sequence, then yields text as it is decoded, one `finish` per choice, and ends
 * with the `usage` event.
 * Leaving the iteration early (break, throw, or the request's signal) cancels it.
 */
export interface Generation extends AsyncIterable<GenerationEvent> {
  readonly promptTokens: number;
}

/** A model to serve: where its GGUF comes from, and settings that differ from the engine's. */
export interface ModelSource {
  /** The name clients send as `model`. */
  id: string;
  /** `builtin:<preset>`, `hf:<owner>/<repo>[:quant]`, or a file path. */
  source: string;
  contextSize?: number;
  parallel?: number;
  threads?: number;
  /** Layers to offload to the GPU; absent: as many as fit, 0 without a GPU. */
  gpuLayers?: number;
}

export interface ModelInfo {
  id: string;
  /** Unix seconds when the model was loaded. */
  created: number;
  ownedBy: string;
}

export type EngineState = "loading" | "ready" | "failed";

export interface SequenceStatus {
  id: number;
  state: "idle" | "prefill" | "decode";
  model: string;
  promptTokens: number;
  generatedTokens: number;
}

export interface SchedulerStats {
  /** Native decode calls that carried at least one generated token. */
  decodeSteps: number;
  /** Sum over those decodes of the number of sequences each one advanced. */
  sequencesDecoded: number;
  /** Prompt tokens evaluated (prefill), all requests together. */
  promptTokensEvaluated: number;
  tokensGenerated: number;
}

export interface EngineStatus {
  state: EngineState;
  models: string[];
  sequences: SequenceStatus[];
  queued: number;
  stats: SchedulerStats;
  /** The native runtime doing the work; absent until it is loaded. */
  runtime?: EngineRuntime;
}

/**
 * Which llama.cpp build runs: node-llama-cpp uses a build from source when one is present (made
 * by `npx node-llama-cpp source build`, or by itself when its prebuilt binaries fail to load) and
 * its prebuilt binaries otherwise; the two differ in speed (docs/performance.md).
 */
export interface EngineRuntime {
  binaries: "prebuilt" | "local build";
  /** llama.cpp release the binaries were built from. */
  llamaCpp: string;
  gpu: string | false;
  /** llama.cpp's system info line: the CPU features its kernels use (AVX2, AVX512, AMX_INT8, OPENMP, ...). */
  cpuFeatures: string;
}

/** Input of tokenize: raw text, or chat messages rendered by the model's template. */
export type TokenizeInput =
  | { kind: "text"; text: string; addSpecialTokens: boolean }
  | {
      kind: "chat";
      messages: ChatMessage[];
      /** vLLM's chat options; absent: true, false, false (vLLM's defaults). */
      addGenerationPrompt?: boolean;
      continueFinalMessage?: boolean;
      addSpecialTokens?: boolean;
      /** Rendered as the chat request would render them. */
      tools?: ToolDefinition[];
    };

export interface TokenizeResult {
  tokens: number[];
  /** The model's context size per sequence (vLLM's `max_model_len`). */
  contextSize: number;
}

export interface EmbeddingInput {
  /** Each input is text or token ids. */
  inputs: ({ kind: "text"; text: string } | { kind: "tokens"; tokens: number[] })[];
  /** Requested vector length; an engine refuses (EngineError "unsupported") any it cannot produce. */
  dimensions?: number;
}

export interface EmbeddingResult {
  vectors: Float32Array[];
  promptTokens: number;
}

/**
 * Inference-time scaling (src/its) works on token chains that continue one evaluated prompt.
 * Each sampled token comes with what the algorithms weigh it by.
 */
export interface ScoredStep {
  token: number;
  /** ln p(token) under the model at temperature 1, logit_bias applied (no other transformation). */
  logprob: number;
  /** ln q(token) under the distribution it was drawn from: temperature T, same logit_bias. */
  proposalLogprob: number;
  /** ln Σ_v exp(z_v / T) over the vocabulary (z = logits + logit_bias): the proposal's normalizer. */
  logNormalizer: number;
  /** Entropy of p at this position in nats; null unless the session asked for it. */
  entropy: number | null;
  /** The token ends the generation (end of sequence or turn); it adds no text. */
  endOfGeneration: boolean;
}

export interface ScalingRequest {
  model: string;
  prompt: PromptInput;
  /**
   * The proposal: temperature (> 0), seed, logit_bias. top_p, top_k, min_p and penalties change
   * the distribution per step in ways the metrics do not describe: an engine refuses them.
   */
  sampling: SamplingParams;
  /** Most tokens a chain may hold; null: what the context leaves after the prompt. */
  maxTokens: number | null;
  /** Compute each step's entropy (a pass over the whole distribution per token). */
  entropy: boolean;
  /** false: every extension evaluates the prompt and the chain again (PITA's way; benchmarks). */
  reuseKvCache?: boolean;
  /** Called with the prompt's length and the resolved max tokens before anything is evaluated; may throw to refuse. */
  admit?(promptTokens: number, maxTokens: number): void;
  signal?: AbortSignal;
}

/** A prompt evaluated once, and chains of sampled tokens after it that share its KV state. */
export interface ScalingSession {
  readonly promptTokens: number;
  /** Prompt tokens whose KV state was found in the cache when the session started. */
  readonly cachedPromptTokens: number;
  /** The resolved bound on a chain's length. */
  readonly maxTokens: number;
  /**
   * A new empty chain. The first chain samples with the request's seed (so it draws what a plain
   * request with that seed draws); later chains and forks get seeds derived from it in order.
   */
  chain(): ScalingChain;
  /** The text of generated tokens (end-of-generation tokens add none). */
  detokenize(tokens: readonly number[]): string;
  /** Tokens the model evaluated for this session so far: prompt (and re-evaluated) tokens plus decodes. */
  readonly tokensEvaluated: number;
  /** Of those, the ones evaluated as prompt: the session's prompt and chain tokens evaluated again. */
  readonly promptTokensEvaluated: number;
  /** Frees the chains' samplers; their sequences' KV states stay in the prefix cache. */
  close(): void;
}

export interface ScalingChain {
  readonly tokens: readonly number[];
  /** True once the chain holds an end-of-generation token or session.maxTokens tokens. */
  readonly done: boolean;
  /** A new chain holding this chain's first `at` tokens, with its own random stream. */
  fork(at: number): ScalingChain;
  /** Drops the tokens from `at` on. */
  truncate(at: number): void;
  /**
   * Samples up to `count` more tokens, each scored; fewer when the chain gets done. Extensions of
   * all chains (of all requests) run in the shared scheduler: N chains advance in one decode.
   * The KV state of the chain's prefix is reused from whatever sequence holds it; only what no
   * sequence holds is evaluated. Rejects with EngineError("cancelled") when the signal aborts.
   */
  extend(count: number): Promise<ScoredStep[]>;
  dispose(): void;
}

/** A prompt as a generation would take it, for Engine.matchCache. */
export type CacheMatchRequest = Pick<GenerateRequest, "model" | "prompt" | "maxTokens"> &
  Partial<Pick<GenerateRequest, "echo" | "logprobs" | "sampling">>;

/** What a generation starting now would find of its prompt in the KV cache. */
export interface CacheMatch {
  /** The prompt's length in tokens, as the generation would evaluate it. */
  promptTokens: number;
  /** Of those, the ones whose KV state it would reuse instead of evaluating them (its usage's cachedPromptTokens). */
  cachedTokens: number;
}

export interface Engine {
  readonly state: EngineState;
  listModels(): ModelInfo[];
  getModel(id: string): ModelInfo | undefined;
  /** Throws EngineError (see errors.ts) when the request cannot be served at all. */
  generate(request: GenerateRequest): Promise<Generation>;
  tokenize(model: string, input: TokenizeInput): Promise<TokenizeResult>;
  /** Throws EngineError("invalid_request") for ids outside the vocabulary. */
  detokenize(model: string, tokens: number[]): Promise<string>;
  /** Throws EngineError("unsupported") when the model cannot embed. */
  embed(model: string, input: EmbeddingInput): Promise<EmbeddingResult>;
  status(): EngineStatus;
  close(): Promise<void>;
  /**
   * Admin: loads a model (a new one, or a configured one that was unloaded; `source` may then be
   * left out). Engines that cannot load models at run time leave these out.
   */
  loadModel?(model: Omit<ModelSource, "source"> & { source?: string }): Promise<ModelInfo>;
  /**
   * Starts an inference-time scaling session; engines without token-level access leave it out.
   * Throws EngineError like generate() does.
   */
  startScaling?(request: ScalingRequest): Promise<ScalingSession>;
  /**
   * How much of the prompt a generation submitted now would reuse from the KV cache: the prompt is
   * rendered and tokenized as generate() does and compared with what the sequences hold; nothing
   * is evaluated and no sequence changes. Throws EngineError as generate() does for the prompt
   * (unknown model, beyond the context, ids outside the vocabulary), and "not_ready" for a model
   * that is served but not loaded. Engines that cannot see their cache leave it out.
   */
  matchCache?(request: CacheMatchRequest): Promise<CacheMatch>;
  /** Admin: frees a model's memory; `forget` also stops serving it. */
  unloadModel?(id: string, forget?: boolean): Promise<void>;
}
