// Requests to one replica, over Node's fetch (undici). The client's Authorization header is not
// forwarded: the replica gets its own key from the config, or none.
import type { ReplicaConfig } from "./config.js";

export type UpstreamFailureKind = "connect" | "timeout";

/** fetch's failure to get a response: the replica is down, or did not answer in time. */
export class UpstreamUnreachable extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UpstreamUnreachable";
  }
}

/** `/v1/chat/completions` → `<base_url>/chat/completions` (base_url is what an OpenAI client takes). */
export function upstreamUrl(replica: ReplicaConfig, path: string): string {
  return replica.baseUrl + path.replace(/^\/v1(?=\/)/, "");
}

/** The headers of a request to `replica`: its own key (never the client's), JSON when `json`. */
export function upstreamHeaders(replica: ReplicaConfig, json: boolean): Record<string, string> {
  return {
    ...(json ? { "content-type": "application/json" } : {}),
    accept: "application/json, text/event-stream",
    ...(replica.apiKey === null ? {} : { authorization: `Bearer ${replica.apiKey}` }),
  };
}

/**
 * POSTs `body`; resolves with the response once its headers arrived (any status). `timeoutMs`
 * bounds the wait for the headers; `deadline()` of the result ends that bound (streaming) or
 * `clear()` drops it. Throws UpstreamUnreachable, or the signal's reason when `signal` aborted.
 */
export function postUpstream(
  replica: ReplicaConfig,
  path: string,
  body: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ response: Response; controller: AbortController; clearTimeout(): void }> {
  return requestUpstream(replica, "POST", path, body, signal, timeoutMs);
}

/** As postUpstream, any method; `body` undefined: none (GET, DELETE). `path` may hold a query. */
export async function requestUpstream(
  replica: ReplicaConfig,
  method: string,
  path: string,
  body: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ response: Response; controller: AbortController; clearTimeout(): void }> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new UpstreamUnreachable("timeout", `no answer from ${replica.name} within ${timeoutMs} ms`));
  }, timeoutMs);
  const clear = (): void => clearTimeout(timer);
  try {
    const response = await fetch(upstreamUrl(replica, path), {
      method,
      headers: upstreamHeaders(replica, body !== undefined),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: controller.signal,
    });
    return { response, controller, clearTimeout: clear };
  } catch (error) {
    clear();
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) throw signal.reason;
    if (timedOut) throw new UpstreamUnreachable("timeout", `no answer from ${replica.name} within ${timeoutMs} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UpstreamUnreachable(
      "connect",
      `cannot reach ${replica.name} (${upstreamUrl(replica, path)}): ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

/** The active health check: GET <origin>/health or <base_url>/models answering 2xx within the timeout. */
export async function checkReplica(
  replica: ReplicaConfig,
  endpoint: "health" | "models",
  timeoutMs: number,
): Promise<boolean> {
  const url = endpoint === "health" ? `${new URL(replica.baseUrl).origin}/health` : `${replica.baseUrl}/models`;
  try {
    const response = await fetch(url, {
      headers: upstreamHeaders(replica, false),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel().catch(() => undefined);
    return response.ok;
  } catch {
    return false;
  }
}

/** Retry-After (seconds, or an HTTP date) in milliseconds; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
