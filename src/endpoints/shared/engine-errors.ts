// Engine failures as OpenAI-shaped HTTP errors: the one place that decides which status each
// engine condition gets, and where the engine's typed refusals get their wire wording. The engine
// names its own fields (EngineField); each endpoint's mapping says what the client called them.
import { EngineError, type EngineErrorDetail, type EngineField } from "../../engine/errors.js";
import {
  ApiError,
  contextLengthExceeded,
  invalidRequest,
  modelNotFound,
  rateLimited,
  serverError,
  serviceUnavailable,
} from "./errors.js";

/** How one endpoint names the engine's fields and words the refusals only it can word. */
export interface EngineErrorNames {
  /** The wire parameter an engine field came from; null when the endpoint has none. */
  param(field: EngineField): string | null;
  /** The endpoint's own error for a refusal; undefined: the shared wording below. */
  refusal?(error: EngineError, param: string | null): ApiError | undefined;
}

/** For routes whose engine calls name no request field (models, health). */
export const NO_FIELDS: EngineErrorNames = { param: () => null };

export function toApiError(error: unknown, model: string, names: EngineErrorNames): ApiError {
  if (error instanceof ApiError) return error;
  // Kept as the cause: the error handler logs it with the request id.
  if (!(error instanceof EngineError)) return serverError(undefined, error);
  const param = error.field === null ? null : names.param(error.field);
  const own = names.refusal?.(error, param);
  if (own !== undefined) return own;
  switch (error.kind) {
    case "model_not_found":
      return modelNotFound(model);
    case "context_length_exceeded":
      return contextLengthExceeded(contextMessage(error, param), param ?? "messages");
    case "not_ready":
      return serviceUnavailable(error.message, 1);
    // A request that needed the model loaded again (keep-alive, admin unload): the server's
    // setup, not the request, is at fault, and a retry may succeed once memory frees up.
    case "load_failed":
      return serviceUnavailable(error.message);
    case "overloaded":
      return rateLimited(`${error.message} Retry shortly.`, 1);
    case "aborted":
      return new ApiError(499, error.message, { type: "invalid_request_error", code: "request_cancelled" });
    case "token_out_of_vocabulary":
      return invalidRequest(vocabularyMessage(error, param), param, "invalid_value");
    case "invalid_request":
    case "tokens_per_request_exceeded":
      return invalidRequest(error.message, param, "invalid_value");
    case "unsupported":
      return invalidRequest(unsupportedMessage(error, param), param, "unsupported");
    case "internal":
      return serverError(error.message, error);
  }
}

/** OpenAI's wording for a prompt beyond the context, naming the parameter (or `input 3`). */
function contextMessage(error: EngineError, param: string | null): string {
  const detail = error.detail;
  const what =
    detail !== null && "input" in detail && detail.input !== undefined ? `input ${detail.input}` : (param ?? "prompt");
  if (detail?.reason === "prompt_bytes_exceed_context")
    return (
      `This model's maximum context length is ${detail.contextSize} tokens. However, your ${what} (${detail.bytes} bytes of text) cannot be ` +
      `fewer than ${detail.fewestTokens} tokens, since none of this model's tokens stands for more than ${detail.longestTokenBytes} bytes` +
      `. Please reduce the length of the ${what}.`
    );
  if (detail?.reason === "context_exceeded") {
    if (detail.maxTokens === undefined)
      return (
        `This model's maximum context length is ${detail.contextSize} tokens. However, your ${what} resulted in ${detail.promptTokens} tokens. ` +
        `Please reduce the length of the ${what}.`
      );
    return (
      `This model's maximum context length is ${detail.contextSize} tokens. However, you requested ${detail.promptTokens + detail.maxTokens} tokens ` +
      `(${detail.promptTokens} in the ${what}, ${detail.maxTokens} in the completion). Please reduce the length of the ${what} or completion.`
    );
  }
  return error.message;
}

function vocabularyMessage(error: EngineError, param: string | null): string {
  const detail = error.detail;
  if (detail?.reason !== "token_out_of_vocabulary") return error.message;
  const last = detail.vocabularySize - 1;
  // logit_bias keys are token ids: OpenAI words a bad key as an invalid key of the object.
  if (error.field === "sampling.logitBias")
    return `Invalid key in '${param}': token id ${detail.token} is outside the vocabulary (0..${last}).`;
  if (detail.input !== undefined)
    return `Invalid token id ${detail.token} (position ${detail.position ?? 0} of input ${detail.input}): the vocabulary has ids 0..${last}.`;
  if (detail.position !== undefined)
    return `Invalid token id ${detail.token} at ${param}[${detail.position}]: the vocabulary has ids 0..${last}.`;
  return `Invalid token id ${detail.token} in '${param}': the vocabulary has ids 0..${last}.`;
}

function unsupportedMessage(error: EngineError, param: string | null): string {
  const detail: EngineErrorDetail | null = error.detail;
  if (detail?.reason === "no_infill_tokens")
    return `The model \`${detail.model}\` has no fill-in-the-middle tokens, so '${param}' is not supported.`;
  if (detail?.reason === "fixed_dimensions")
    return (
      `The model \`${detail.model}\` produces ${detail.dimensions}-dimensional embeddings and cannot shorten them: ` +
      `'${param}' must be ${detail.dimensions} or absent, but got ${detail.requested}.`
    );
  return error.message;
}
