// Server-sent events writer for the streaming endpoints. It never throws: a client that goes
// away mid-stream is normal (the SDK aborts the request when the consumer stops iterating), and
// the generation loop should only have to check `closed` to know it can stop.
import type { ServerResponse } from "node:http";
import { toErrorBody, type ApiError } from "./errors.js";

export interface SseStreamOptions {
  /**
   * Seconds of silence before a `: keepalive` comment. undici's default body timeout is 300 s,
   * and proxies are often shorter; 15 s keeps both happy while a long prompt is prefilled.
   */
  keepaliveSeconds?: number;
  /** How events are framed; absent: chat's (`data:` lines only, [DONE] at the end, `{error}` on failure). */
  format?: SseEventFormat;
}

/** Named events, as the Responses API streams them (`event: <type>` before each `data:`). */
export interface SseEventFormat {
  /** The `event:` name of a payload; undefined: no `event:` line. */
  eventName(data: unknown): string | undefined;
  /** Whether `done()` writes the `data: [DONE]` sentinel before ending (default true). */
  done?: boolean;
  /** The payload reporting a failure mid-stream (default: OpenAI's `{error}` body). */
  errorEvent?(err: ApiError): unknown;
}

const noop = (): void => {};

export class SseStream {
  private readonly res: ServerResponse;
  private readonly keepaliveMs: number;
  private readonly format: SseEventFormat | undefined;
  private timer: NodeJS.Timeout | undefined;
  private opened = false;
  private ended = false;
  private gone = false;

  constructor(res: ServerResponse, options: SseStreamOptions = {}) {
    this.res = res;
    this.keepaliveMs = Math.max(1, (options.keepaliveSeconds ?? 15) * 1000);
    this.format = options.format;
    res.once("close", () => {
      this.gone = true;
      this.stopKeepalive();
    });
  }

  /** True once the stream has ended or the client has disconnected; writes are then dropped. */
  get closed(): boolean {
    return this.ended || this.gone || this.res.destroyed || this.res.writableEnded;
  }

  /** Sends the 200 and the event-stream headers; `headers` adds to them (x-request-id). */
  open(headers: Record<string, string> = {}): void {
    if (this.opened || this.closed) return;
    this.opened = true;
    if (!this.res.headersSent) {
      this.res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
        // nginx buffers proxied responses unless told not to, which would batch the tokens.
        "X-Accel-Buffering": "no",
        ...headers,
      });
      // Headers go out now, so the client's header timeout stops counting during prefill.
      this.res.flushHeaders();
    }
    this.res.socket?.setNoDelay(true);
    this.timer = setInterval(() => this.keepalive(), this.keepaliveMs);
    // A forgotten stream must not keep the process alive on shutdown.
    this.timer.unref();
  }

  /** Writes one `data: <json>` event; resolves when the socket can take more (or is gone). */
  send(event: unknown): Promise<void> {
    const name = this.format?.eventName(event);
    if (name !== undefined) return this.sendEvent(name, event);
    if (!this.opened) this.open();
    return this.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  /** Writes one named event: `event: <name>` then `data: <json>`. */
  sendEvent(name: string, event: unknown): Promise<void> {
    if (!this.opened) this.open();
    return this.write(`event: ${name.replace(/[\r\n]+/g, " ")}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  /** Writes an SSE comment (`: <text>`), which clients skip: progress for those who read the raw stream. */
  comment(text: string): Promise<void> {
    if (!this.opened) this.open();
    return this.write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
  }

  /** Writes events in order, each as `send` does. */
  async sendAll(events: readonly unknown[]): Promise<void> {
    for (const event of events) await this.send(event);
  }

  /**
   * Reports a failure. Before the stream is opened it is a normal JSON error response with the
   * error's status (the only kind the SDKs retry); after, it is the `data: {"error": ...}` event
   * every SDK version raises as APIError. Either way the response is then ended, without [DONE].
   * `headers` (x-request-id) apply to the JSON case; an opened stream already sent its own.
   */
  async error(err: ApiError, headers: Record<string, string> = {}): Promise<void> {
    if (this.closed) return;
    if (!this.opened && !this.res.headersSent) {
      this.ended = true;
      this.res.writeHead(err.status, { ...headers, ...err.headers, "Content-Type": "application/json" });
      this.res.end(JSON.stringify(toErrorBody(err)), noop);
      return;
    }
    if (this.format?.errorEvent) await this.send(this.format.errorEvent(err));
    else await this.write(`data: ${JSON.stringify(toErrorBody(err))}\n\n`);
    this.end();
  }

  /**
   * Writes the `[DONE]` sentinel and ends the response (SDKs before v7.5 read until EOF); a
   * format with `done: false` ends it without (the Responses API's last event says it is over).
   */
  done(): void {
    if (this.closed) return;
    if (!this.opened) this.open();
    if (this.format?.done !== false) this.res.write("data: [DONE]\n\n", noop);
    this.end();
  }

  /** Ends the response without [DONE], e.g. when generation was aborted. */
  end(): void {
    this.stopKeepalive();
    if (this.ended) return;
    this.ended = true;
    if (!this.res.destroyed && !this.res.writableEnded) this.res.end(noop);
  }

  private write(data: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    // The callback routes write errors (socket reset) away from the 'error' event.
    const flushed = this.res.write(data, noop);
    // Any write proves the connection is alive, so the keepalive restarts its countdown.
    this.timer?.refresh();
    if (flushed) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        this.res.off("drain", settle);
        this.res.off("close", settle);
        resolve();
      };
      this.res.on("drain", settle);
      this.res.on("close", settle);
    });
  }

  private keepalive(): void {
    // Skipped while the socket is backed up: data is pending anyway.
    if (this.closed || this.res.writableNeedDrain) return;
    this.res.write(": keepalive\n\n", noop);
  }

  private stopKeepalive(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
