// Errors an engine raises for requests it cannot serve. They speak the engine's language: a kind
// (which the HTTP layer maps to a status), the engine-side field at fault (a path into the
// engine's request types, never a wire parameter name), and for the refusals whose wording the
// HTTP layer writes itself, the facts it needs. Each endpoint's mapping names the wire parameter.

export type EngineErrorKind =
  /** The prompt (plus the requested tokens) does not fit the context. */
  | "context_length_exceeded"
  /** No such model is served. */
  | "model_not_found"
  /** The engine is still loading or has failed to load. */
  | "not_ready"
  /** A model could not be loaded: missing or invalid file, failed download, not enough memory. */
  | "load_failed"
  /** The wait queue is full. */
  | "overloaded"
  /** The request was cancelled by its caller. */
  | "aborted"
  /** A token id that the model's vocabulary does not have. */
  | "token_out_of_vocabulary"
  /** The inputs of one request hold more tokens together than the engine takes at once (embeddings). */
  | "tokens_per_request_exceeded"
  /** The request is well-formed but names something invalid for this model. */
  | "invalid_request"
  /** The model cannot do this (embeddings from a model without them, fill-in-the-middle without FIM tokens). */
  | "unsupported"
  /** A fault inside the engine (native error, upstream failure). */
  | "internal";

/**
 * Where in the engine's request a refusal points: fields of GenerateRequest (`prompt.*`,
 * `sampling.*`, `outputConstraint.*`, `tools[i]`), of EmbeddingInput (`inputs`, `dimensions`), of
 * detokenize (`tokens`), and of a model to load (`model`, `source`).
 */
export type EngineField =
  | "model"
  | "source"
  | "prompt"
  | "prompt.messages"
  | "prompt.tokens"
  | "prompt.suffix"
  | "sampling.temperature"
  | "sampling.topP"
  | "sampling.topK"
  | "sampling.minP"
  | "sampling.presencePenalty"
  | "sampling.frequencyPenalty"
  | "sampling.repetitionPenalty"
  | "sampling.logitBias"
  | "outputConstraint.schema"
  | "tools"
  | `tools[${number}].parameters`
  | "inputs"
  | "dimensions"
  | "tokens";

/** The facts behind a refusal whose client-facing wording depends on the endpoint. */
export type EngineErrorDetail =
  /** `position`: index in the field's list; `input`: which of several inputs (embeddings). */
  | { reason: "token_out_of_vocabulary"; token: number; vocabularySize: number; position?: number; input?: number }
  /** `maxTokens`: the tokens asked for on top of the prompt (absent: the prompt alone does not fit). */
  | { reason: "context_exceeded"; contextSize: number; promptTokens: number; maxTokens?: number; input?: number }
  /** The prompt's text is too long to become fewer tokens than the context holds (checked before tokenizing). */
  | {
      reason: "prompt_bytes_exceed_context";
      contextSize: number;
      bytes: number;
      fewestTokens: number;
      longestTokenBytes: number;
      input?: number;
    }
  | { reason: "no_infill_tokens"; model: string }
  | { reason: "fixed_dimensions"; model: string; dimensions: number; requested: number }
  /** `complete`: false when counting stopped before the last input. */
  | { reason: "tokens_per_request"; total: number; max: number; complete: boolean };

export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly field: EngineField | null = null,
    readonly detail: EngineErrorDetail | null = null,
  ) {
    super(message);
    this.name = "EngineError";
  }
}
