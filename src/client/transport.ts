// Sends a request: headers, one abort controller per try (fed by the timeout and the caller's
// signal), retries with backoff, and error responses turned into APIError subclasses.
import { APIConnectionError, APIError, APITimeoutError, APIUserAbortError, LavashError } from "./errors.js";
import { isRetryableResponse, retryDelayMs } from "./retry.js";

/** Per-call options, the second argument of every method. */
export interface RequestOptions {
  /** Milliseconds; see ClientOptions.timeout. */
  timeout?: number;
  /** Aborts the request (a stream too); the call then rejects with APIUserAbortError. */
  signal?: AbortSignal;
  maxRetries?: number;
  /** Added to the request's headers; null removes one the client would send. */
  headers?: Record<string, string | null | undefined>;
}

export interface TransportConfig {
  apiKey: string | undefined;
  timeout: number;
  maxRetries: number;
  fetch: typeof fetch;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  body?: unknown;
  /** A stream's answer is handed over once its headers are in; a JSON answer is read in full first. */
  stream: boolean;
}

/** setTimeout's largest delay; a longer timeout (or a non-positive one) means none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One try of a request. The timeout covers a JSON request until its body is read, and a stream
 * until its headers; a Stream then runs it again around each read, so it bounds each silence.
 */
export class Attempt {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;
  private userAborted = false;
  private readonly onUserAbort = (): void => this.abort();

  constructor(
    private readonly timeoutMs: number,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    if (userSignal?.aborted) this.abort();
    else userSignal?.addEventListener("abort", this.onUserAbort, { once: true });
    this.restartTimer();
  }

  /** Starts the timeout afresh. */
  restartTimer(): void {
    this.stopTimer();
    if (this.signal.aborted || !(this.timeoutMs > 0 && this.timeoutMs <= MAX_TIMER_MS)) return;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, this.timeoutMs);
  }

  stopTimer(): void {
    clearTimeout(this.timer);
  }

  /** The caller's abort (its signal, or Stream.abort()). */
  abort(): void {
    if (!this.signal.aborted) {
      this.userAborted = true;
      this.controller.abort();
    }
    this.finish();
  }

  /** Stops the timer and lets go of the caller's signal. */
  finish(): void {
    this.stopTimer();
    this.userSignal?.removeEventListener("abort", this.onUserAbort);
  }

  /** What an exception from fetch, or from reading the body, means. */
  error(cause: unknown): LavashError {
    if (cause instanceof LavashError) return cause;
    if (this.timedOut) return new APITimeoutError(undefined, { cause });
    if (this.userAborted) return new APIUserAbortError(undefined, { cause });
    return new APIConnectionError(connectionMessage(cause), { cause });
  }
}

/** A try's result: the response (and for JSON its text), or why it failed and whether to try again. */
type Outcome =
  | { ok: true; response: Response; attempt: Attempt; text: string | undefined }
  | { ok: false; error: LavashError; retryable: boolean; headers?: Headers };

export class Transport {
  constructor(private readonly config: TransportConfig) {}

  /** The successful response, after retries; for a JSON request its body text is read too. */
  async send(
    request: HttpRequest,
    options: RequestOptions = {},
  ): Promise<{ response: Response; attempt: Attempt; text: string | undefined }> {
    const maxRetries = Math.max(0, options.maxRetries ?? this.config.maxRetries);
    const timeout = options.timeout ?? this.config.timeout;
    const init: RequestInit = {
      method: request.method,
      headers: this.headers(request, options),
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    };
    for (let retry = 0; ; retry++) {
      const outcome = await this.try(request, init, new Attempt(timeout, options.signal));
      if (outcome.ok) return outcome;
      if (!outcome.retryable || retry >= maxRetries) throw outcome.error;
      await sleep(retryDelayMs(retry, outcome.headers), options.signal);
    }
  }

  /** A JSON request's parsed body. */
  async json<T>(request: Omit<HttpRequest, "stream">, options?: RequestOptions): Promise<T> {
    const { response, text } = await this.send({ ...request, stream: false }, options);
    try {
      return JSON.parse(text ?? "") as T;
    } catch (cause) {
      throw new LavashError(`The server's answer (${response.status}) is not JSON: ${(text ?? "").slice(0, 200)}`, {
        cause,
      });
    }
  }

  private async try(request: HttpRequest, init: RequestInit, attempt: Attempt): Promise<Outcome> {
    let handedOver = false;
    try {
      const response = await this.config.fetch(request.url, { ...init, signal: attempt.signal });
      if (response.ok && request.stream) {
        handedOver = true;
        return { ok: true, response, attempt, text: undefined };
      }
      const text = await response.text();
      if (response.ok) return { ok: true, response, attempt, text };
      return {
        ok: false,
        error: APIError.generate(response.status, parseJson(text), text, response.headers),
        retryable: isRetryableResponse(response.status, response.headers),
        headers: response.headers,
      };
    } catch (cause) {
      const error = attempt.error(cause);
      return { ok: false, error, retryable: error instanceof APIConnectionError };
    } finally {
      if (!handedOver) attempt.finish();
    }
  }

  private headers(request: HttpRequest, options: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { accept: request.stream ? "text/event-stream" : "application/json" };
    if (request.body !== undefined) headers["content-type"] = "application/json";
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value == null) delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    return headers;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch says "fetch failed"; the reason (ECONNREFUSED, a reset) is in its cause. */
function connectionMessage(cause: unknown): string {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  return inner instanceof Error ? `Connection error: ${inner.message}` : "Connection error.";
}

/** Waits, unless the caller aborts first (then APIUserAbortError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new APIUserAbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
