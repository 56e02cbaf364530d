// The client's errors. APIError means the server answered with an error (a non-2xx response, or
// a `data: {"error": ...}` event in the middle of a stream); the other classes mean no answer came:
// the connection failed, the request ran out of time, or the caller aborted it. The names and the
// status classes are the openai SDK's, so code written against it reads the same.
import type { ErrorObject } from "../endpoints/shared/errors.js";

export type { ErrorObject };

/** Every error this client throws. */
export class LavashError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class APIError extends LavashError {
  /** The HTTP status; undefined for an error event inside a stream (the stream itself was a 200). */
  readonly status: number | undefined;
  /** The body's `error` object (OpenAI's shape: message, type, param, code). */
  readonly error: ErrorObject | undefined;
  readonly type: string | null;
  readonly param: string | null;
  readonly code: string | null;
  /** The response's `x-request-id` (lavash sends one on every response). */
  readonly requestID: string | null;
  readonly headers: Headers | undefined;

  constructor(status: number | undefined, error: unknown, message: string | undefined, headers: Headers | undefined) {
    const body = isErrorObject(error) ? error : undefined;
    super(errorMessage(status, body, message));
    this.status = status;
    this.error = body;
    this.type = stringOrNull(body?.type);
    this.param = stringOrNull(body?.param);
    this.code = stringOrNull(body?.code);
    this.headers = headers;
    this.requestID = headers?.get("x-request-id") ?? null;
  }

  /** The subclass for a status, from a parsed error body (`{"error": {...}}`, or anything else). */
  static generate(status: number, body: unknown, rawText: string | undefined, headers: Headers): APIError {
    const error =
      typeof body === "object" && body !== null && "error" in body ? (body as { error: unknown }).error : undefined;
    // A body that is not OpenAI's shape (a proxy's HTML page) becomes the message as it came.
    const message = isErrorObject(error) ? undefined : rawText?.trim() || undefined;
    const Class = STATUS_CLASSES[status] ?? (status >= 500 ? InternalServerError : APIError);
    return new Class(status, error, message, headers);
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class UnprocessableEntityError extends APIError {}
export class RateLimitError extends APIError {}
export class InternalServerError extends APIError {}

const STATUS_CLASSES: Readonly<Record<number, typeof APIError>> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** No response: the connection could not be made or broke (the cause is fetch's error). */
export class APIConnectionError extends LavashError {
  constructor(message = "Connection error.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The request (or, for a stream, a gap between two reads) took longer than `timeout`. */
export class APITimeoutError extends APIConnectionError {
  constructor(message = "Request timed out.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The caller aborted: its `signal`, or `stream.abort()` (seen only through finalCompletion()). */
export class APIUserAbortError extends LavashError {
  constructor(message = "Request was aborted.", options?: { cause?: unknown }) {
    super(message, options);
  }
}

function isErrorObject(value: unknown): value is ErrorObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** OpenAI's form: "400 Invalid value for 'temperature': ...". */
function errorMessage(status: number | undefined, body: ErrorObject | undefined, message: string | undefined): string {
  const text = typeof body?.message === "string" ? body.message : body !== undefined ? JSON.stringify(body) : message;
  if (status === undefined) return text ?? "An error occurred during streaming.";
  return text === undefined ? `${status} status code (no body)` : `${status} ${text}`;
}
