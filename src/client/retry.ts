// When to retry and how long to wait first. The openai SDK's rules, so that a server (lavash
// included) that steers those clients steers this one the same way.

/** Delay before retry n (0-based): 0.5 s doubling per retry, at most 8 s, ±25% random. */
export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
export const RETRY_JITTER = 0.25;
/** A Retry-After hint beyond this is not waited for: the default backoff applies instead. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Whether an error response may be retried: `x-should-retry` decides when present; otherwise
 * 408 (request timeout), 409 (lock conflict), 429 (rate limit) and every 5xx.
 */
export function isRetryableResponse(status: number, headers: Headers): boolean {
  const hint = headers.get("x-should-retry");
  if (hint === "true") return true;
  if (hint === "false") return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** `retry-after-ms`, else `retry-after` (seconds, or an HTTP date), in milliseconds from `now`. */
export function retryAfterMs(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms")?.trim();
  if (ms) {
    const value = Number(ms);
    if (Number.isFinite(value)) return value;
  }
  const after = headers?.get("retry-after")?.trim();
  if (after) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return seconds * 1000;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return date - now;
  }
  return undefined;
}

export function backoffMs(retry: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** retry, MAX_RETRY_DELAY_MS);
  return base * (1 + (random() * 2 - 1) * RETRY_JITTER);
}

/** The wait before retry `retry` (0-based): the server's hint when it gives a usable one, else the backoff. */
export function retryDelayMs(
  retry: number,
  headers?: Headers,
  random: () => number = Math.random,
  now: number = Date.now(),
): number {
  const hint = retryAfterMs(headers, now);
  if (hint !== undefined && hint >= 0 && hint <= MAX_RETRY_AFTER_MS) return hint;
  return backoffMs(retry, random);
}
