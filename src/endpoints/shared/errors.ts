// OpenAI-shaped errors. Every failure the HTTP layer reports goes through ApiError so that the
// body always carries all four keys the spec requires and the SDKs (which classify errors by
// status and read type/param/code from the `error` wrapper) see what they expect from OpenAI.

export interface ErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface ErrorBody {
  error: ErrorObject;
}

export interface ApiErrorOptions {
  type?: string;
  param?: string | null;
  code?: string | null;
  headers?: Record<string, string>;
  /** What went wrong inside (a 500's exception): logged by the server, never sent to the client. */
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  /** Extra response headers (Retry-After on 429/503). */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.status = status;
    this.type = options.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.headers = options.headers ?? {};
  }
}

export function toErrorBody(e: ApiError): ErrorBody {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, { type: "invalid_request_error", param, code });
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, {
    type: "invalid_request_error",
    code: "model_not_found",
  });
}

export function routeNotFound(method: string, url: string): ApiError {
  return new ApiError(404, `Invalid URL (${method} ${url})`, { type: "invalid_request_error", code: "unknown_url" });
}

export function invalidJson(detail: string): ApiError {
  // OpenAI's wording, so that people searching the message land on the right explanation.
  return new ApiError(
    400,
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
      "library correctly. The server expects a JSON payload, but what was sent was not valid JSON: " +
      `${detail})`,
    { type: "invalid_request_error" },
  );
}

/** 500. `cause` is the failure behind it, for the server's log (the client sees only the message). */
export function serverError(
  message = "The server had an error while processing your request. Sorry about that!",
  cause?: unknown,
): ApiError {
  return new ApiError(500, message, { type: "server_error", ...(cause === undefined ? {} : { cause }) });
}

/** 503: the SDKs retry it, honouring Retry-After when given. */
export function serviceUnavailable(message: string, retryAfterSeconds?: number): ApiError {
  return new ApiError(503, message, {
    type: "server_error",
    code: "service_unavailable",
    headers: retryAfterSeconds === undefined ? {} : retryHeaders(retryAfterSeconds),
  });
}

/** 401. OpenAI's wording, without echoing the key back (a log or a proxy may keep the body). */
export function invalidApiKey(presented: boolean): ApiError {
  const message = presented
    ? "Incorrect API key provided. Send one of the keys this server was started with (--api-key) as `Authorization: Bearer <key>`."
    : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
  return new ApiError(401, message, {
    type: "invalid_request_error",
    code: "invalid_api_key",
    headers: { "WWW-Authenticate": "Bearer" },
  });
}

/**
 * 504: the generation ran past the server's --request-timeout. `x-should-retry: false` because
 * the SDKs retry every 5xx, and the same request would most likely run out of time again.
 */
export function requestTimedOut(seconds: number): ApiError {
  return new ApiError(
    504,
    `The request took longer than the server's limit of ${seconds} s and was stopped. Ask for fewer tokens (max_tokens) or raise --request-timeout.`,
    {
      type: "server_error",
      code: "request_timeout",
      headers: { "x-should-retry": "false" },
    },
  );
}

export function rateLimited(message: string, retryAfterSeconds: number): ApiError {
  // type "requests" is what OpenAI itself sends for request-count rate limits.
  return new ApiError(429, message, {
    type: "requests",
    code: "rate_limit_exceeded",
    headers: retryHeaders(retryAfterSeconds),
  });
}

export function contextLengthExceeded(message: string, param = "messages"): ApiError {
  return new ApiError(400, message, { type: "invalid_request_error", param, code: "context_length_exceeded" });
}

function retryHeaders(seconds: number): Record<string, string> {
  const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  return {
    // The spec wants integer seconds >= 1; the SDKs prefer the precise millisecond hint when present.
    "Retry-After": String(Math.max(1, Math.ceil(s))),
    "retry-after-ms": String(Math.round(s * 1000)),
  };
}

/** The cause of a 500 in one line for the log: "RangeError: Maximum call stack size exceeded". */
export function describeCause(error: ApiError): string {
  const cause = error.cause ?? error;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
