// lavash/client: a typed client for lavash's API (chat and legacy completions with streaming,
// models, embeddings, tokenize/detokenize), with retries, timeouts and the SDKs' error classes.
// It needs nothing but fetch.
export { Lavash, Lavash as default, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from "./client.js";
export type {
  ChatCompletionStream,
  ChatCompletionsResource,
  ClientOptions,
  CreateGeneration,
  CompletionStream,
  CompletionsResource,
  EmbeddingsResource,
  ModelsResource,
} from "./client.js";
export {
  APIConnectionError,
  APIError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  LavashError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
  type ErrorObject,
} from "./errors.js";
export { Stream, type Accumulator } from "./stream.js";
export type { RequestOptions } from "./transport.js";
export type * from "./types.js";
