// Streaming HTTP requests timed at the socket. node:http rather than fetch: it adds less work per
// chunk in the client process, which on a 2-core machine competes with the server for the CPU.
import http from "node:http";
import https from "node:https";
import { analyzeStream, SseParser, type SseEvent, type StreamTiming } from "./sse.js";

export function createAgent(url: string): http.Agent {
  // Keep-alive so later rounds do not pay for connection setup in their TTFT.
  const options = { keepAlive: true, maxSockets: Infinity };
  return url.startsWith("https:") ? new https.Agent(options) : new http.Agent(options);
}

/**
 * Closes the agent's idle keep-alive connections. Called before each round: a server may close a
 * connection that sat idle past its keep-alive timeout (llama-server's is 5 s) just as the client
 * reuses it, and the request fails with "socket hang up". With two servers' rounds interleaved,
 * each server's connections sit idle for the other's whole round, so every round starts on fresh
 * connections instead (a loopback connect costs well under a millisecond); within a round they
 * are still reused.
 */
export function closeIdleSockets(agent: http.Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

export interface StreamHooks {
  /** Extra request headers (Authorization). */
  headers?: Record<string, string>;
  /** Ends the request; the timing then has `cancelled` set and no error for the missing end. */
  signal?: AbortSignal;
  /** Called on every read of the response body with its arrival time (progress, not parsing). */
  onRead?: (at: number) => void;
  /** Called with the response's status and headers when they arrive (e.g. a gateway's x-lavash-replica). */
  onResponse?: (status: number, headers: http.IncomingHttpHeaders) => void;
  /** Called once at the end with every parsed event (e.g. to read the generated text). */
  onEvents?: (events: readonly SseEvent[]) => void;
}

/** Bounds the retries over closed keep-alive connections (more than any round leaves idle). */
const MAX_STALE_RETRIES = 64;

/** POSTs `body` and reads the SSE response, timing every event on arrival. */
export function streamPost(
  url: string,
  body: unknown,
  agent: http.Agent,
  timeoutMs: number,
  hooks: StreamHooks = {},
): Promise<StreamTiming> {
  const payload = Buffer.from(JSON.stringify(body));
  const target = new URL(url);
  const lib = target.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    const parser = new SseParser();
    const events: SseEvent[] = [];
    const reads: { text: string; at: number }[] = [];
    let errorBody = "";
    let status = 0;
    let settled = false;
    let cancelled = false;
    const startedAt = performance.now();
    const finish = (error: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const endedAt = performance.now();
      const ok = status >= 200 && status < 300;
      for (const read of reads) {
        if (ok) events.push(...parser.push(read.text, read.at));
        else errorBody += read.text;
      }
      events.push(...parser.end(endedAt));
      hooks.onEvents?.(events);
      const httpError =
        status !== 0 && (status < 200 || status >= 300) ? `HTTP ${status}: ${errorBody.slice(0, 300)}` : null;
      resolve(analyzeStream(events, startedAt, endedAt, cancelled ? httpError : (error ?? httpError), cancelled));
    };
    let req: http.ClientRequest;
    const send = (attempt: number): void => {
      req = lib.request(
        target,
        {
          method: "POST",
          agent,
          headers: {
            ...hooks.headers,
            "Content-Type": "application/json",
            Accept: "text/event-stream",
            "Content-Length": payload.length,
          },
        },
        (res) => {
          status = res.statusCode ?? 0;
          hooks.onResponse?.(status, res.headers);
          res.setEncoding("utf8");
          // Only the arrival time is taken per read; parsing waits for the end of the stream, so
          // the client spends as little CPU as possible while the server is decoding.
          res.on("data", (text: string) => {
            const at = performance.now();
            reads.push({ text, at });
            hooks.onRead?.(at);
          });
          res.on("end", () => finish(null));
          res.on("error", (e) => finish(`response error: ${e.message}`));
          // 'close' without 'end': the server dropped the connection mid-stream.
          res.on("close", () => finish(res.complete ? null : "connection closed mid-response"));
        },
      );
      const sent = req;
      sent.on("error", (e) => {
        // A kept-alive connection the server had already closed (seen with llama-server right
        // after a streamed response, back to back): the request never reached it, so it is sent
        // again, as Node's documentation advises. The agent may hand the retry another of the
        // closed connections, so it goes on while the failed try was on a reused one (each try
        // uses one up; a new connection ends it). The time lost stays in the request's timing.
        const stale = status === 0 && sent.reusedSocket && isConnectionReset(e);
        if (stale && !settled && !cancelled && attempt < MAX_STALE_RETRIES) send(attempt + 1);
        else finish(`request error: ${e.message}`);
      });
      sent.setNoDelay(true);
      sent.end(payload);
    };
    const timer = setTimeout(() => {
      finish(`timed out after ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    const cancel = (): void => {
      cancelled = true;
      finish(null);
      req.destroy();
    };
    send(0);
    if (hooks.signal?.aborted) cancel();
    else hooks.signal?.addEventListener("abort", cancel, { once: true });
  });
}

function isConnectionReset(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ECONNRESET" || code === "EPIPE" || e.message === "socket hang up";
}

export async function getJson(
  url: string,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: res.status, body };
}
