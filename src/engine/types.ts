// The contract between the HTTP layer and whatever produces tokens. Nothing here knows about
// HTTP or about llama.cpp: the server maps API requests onto these types, and each engine
// (local llama, upstream gateway) implements them.

export type ChatRole = "system" | "developer" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** What to generate from: a chat rendered by the model's own template, or raw text. */
export type PromptInput =
  | { kind: "chat"; messages: ChatMessage[] }
  | { kind: "text"; text: string };

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  /** Fixed seed: identical requests give identical output. Undefined: a fresh random seed. */
  seed?: number;
}

export interface GenerateRequest {
  model: string;
  prompt: PromptInput;
  /** Upper bound on generated tokens; null means "until the context is full". */
  maxTokens: number | null;
  /** Generation ends before any of these strings; they are not part of the output. */
  stop: string[];
  sampling: SamplingParams;
  /** Aborting frees the sequence at the next scheduler tick (queued requests leave the queue). */
  signal?: AbortSignal;
}

export type FinishReason = "stop" | "length";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens whose KV state was reused from an earlier request instead of evaluated. */
  cachedPromptTokens: number;
}

export type GenerationEvent =
  /** Text that is final: valid UTF-8, and never part of a stop sequence. */
  | { type: "text"; text: string }
  | { type: "finish"; finishReason: FinishReason; usage: Usage };

/**
 * A generation admitted by the engine: the prompt is tokenized and known to fit. Iterating it
 * waits for a free sequence, then yields text as it is decoded and ends with one `finish` event.
 * Leaving the iteration early (break, throw, or the request's signal) cancels it.
 */
export interface Generation extends AsyncIterable<GenerationEvent> {
  readonly promptTokens: number;
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
}

export interface Engine {
  readonly state: EngineState;
  listModels(): ModelInfo[];
  getModel(id: string): ModelInfo | undefined;
  /** Throws EngineError (see errors.ts) when the request cannot be served at all. */
  generate(request: GenerateRequest): Promise<Generation>;
  status(): EngineStatus;
  close(): Promise<void>;
}
