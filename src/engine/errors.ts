// Errors an engine raises for requests it cannot serve. The server maps each kind to an HTTP
// status and an OpenAI error body; the engine never decides status codes.

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
  /** The request is well-formed but names something invalid for this model (a token id outside the vocabulary). */
  | "invalid_request"
  /** The model cannot do this (embeddings from a model without them, fill-in-the-middle without FIM tokens). */
  | "unsupported"
  /** A fault inside the engine (native error, upstream failure). */
  | "internal";

export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

/** The inputs of one request hold more tokens together than the engine takes at once (embeddings). */
export class TokensPerRequestExceeded extends EngineError {
  constructor(message: string) {
    super("invalid_request", message, "input");
    this.name = "TokensPerRequestExceeded";
  }
}
