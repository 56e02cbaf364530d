// Maps engine failures onto OpenAI-shaped HTTP errors: the one place that decides which status
// each engine condition gets.
import {
  ApiError,
  contextLengthExceeded,
  invalidRequest,
  modelNotFound,
  rateLimited,
  serverError,
  serviceUnavailable,
} from "./errors.js";
import { EngineError } from "../../engine/errors.js";

export function toApiError(error: unknown, model: string): ApiError {
  if (error instanceof ApiError) return error;
  // Kept as the cause: the error handler logs it with the request id.
  if (!(error instanceof EngineError)) return serverError(undefined, error);
  switch (error.kind) {
    case "model_not_found":
      return modelNotFound(model);
    case "context_length_exceeded":
      return contextLengthExceeded(error.message, error.param === "prompt" ? "prompt" : "messages");
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
    case "invalid_request":
    case "unsupported":
      return invalidRequest(error.message, error.param, error.kind === "unsupported" ? "unsupported" : "invalid_value");
    case "internal":
      return serverError(error.message, error);
  }
}
