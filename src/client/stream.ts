// A streamed response: an async iterable of the server's chunks that also rebuilds, from the
// chunks it passes on, the response the same request would have had without streaming.
import { APIConnectionError, APIError, APIUserAbortError, LavashError } from "./errors.js";
import { sseData } from "./sse.js";
import type { Attempt } from "./transport.js";

/** Folds a stream's chunks into the non-streamed response. */
export interface Accumulator<Chunk, Final> {
  add(chunk: Chunk): void;
  /** Called once the stream has ended with [DONE]. */
  result(): Final;
}

/**
 * Read it once, with `for await`; `finalCompletion()` reads whatever the loop has not (or waits
 * for the loop to finish) and returns the whole response. Errors: a `data: {"error": ...}` event
 * throws APIError (status undefined), a broken connection APIConnectionError, a silence longer
 * than the timeout APITimeoutError, the caller's signal APIUserAbortError. `abort()` ends the loop
 * quietly instead (the caller asked for it), and finalCompletion() then rejects.
 */
export class Stream<Chunk, Final> implements AsyncIterable<Chunk> {
  readonly response: Response;
  private readonly attempt: Attempt;
  private readonly accumulator: Accumulator<Chunk, Final>;
  private consumed = false;
  private aborted = false;
  private readonly final: Promise<Final>;
  private resolveFinal!: (value: Final) => void;
  private rejectFinal!: (error: LavashError) => void;

  /** Made by the client's create() methods. */
  constructor(response: Response, attempt: Attempt, accumulator: Accumulator<Chunk, Final>) {
    this.response = response;
    this.attempt = attempt;
    this.accumulator = accumulator;
    this.final = new Promise<Final>((resolve, reject) => {
      this.resolveFinal = resolve;
      this.rejectFinal = reject;
    });
    // Nobody may ever ask for it; its rejection must not be reported as unhandled.
    this.final.catch(() => {});
    // From here on the timeout bounds each wait for the next read (see the iterator).
    attempt.stopTimer();
  }

  /** The response's x-request-id. */
  get requestID(): string | null {
    return this.response.headers.get("x-request-id");
  }

  /** Stops the stream: the connection is closed (the server frees the sequence) and a running loop ends. */
  abort(): void {
    this.aborted = true;
    this.attempt.abort();
  }

  /** The response rebuilt from every chunk (reading the rest of the stream if nobody is). */
  async finalCompletion(): Promise<Final> {
    if (!this.consumed) {
      for await (const _chunk of this) {
        // Read to the end; the chunks go to the accumulator.
      }
    }
    return this.final;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk, void, undefined> {
    if (this.consumed)
      throw new LavashError(
        "This stream has already been read; it can be iterated once (finalCompletion() works during or after).",
      );
    this.consumed = true;
    let ended = false;
    try {
      if (this.response.body === null) throw new APIConnectionError("The stream's response has no body.");
      // The timeout runs while a read waits, not while the loop's body works on a chunk.
      const timer = { beforeRead: () => this.attempt.restartTimer(), afterRead: () => this.attempt.stopTimer() };
      for await (const data of sseData(this.response.body, timer)) {
        // One read may hold several events: none is passed on after an abort.
        if (this.attempt.signal.aborted) break;
        if (data === "[DONE]") {
          ended = true;
          break;
        }
        if (data === "") continue;
        const chunk = this.parse(data);
        this.accumulator.add(chunk);
        yield chunk;
      }
      if (!ended && this.attempt.signal.aborted) throw this.attempt.error(undefined);
      // The server ends every stream with [DONE] or with an error event.
      if (!ended) throw new APIConnectionError("The stream ended before its [DONE] event.");
      this.resolveFinal(this.accumulator.result());
    } catch (e) {
      ended = true;
      if (this.aborted && !(e instanceof APIError)) {
        this.rejectFinal(new APIUserAbortError("The stream was aborted."));
        return;
      }
      const error = this.attempt.error(e);
      this.rejectFinal(error);
      throw error;
    } finally {
      this.attempt.finish();
      if (!ended) {
        // The loop was left early (break, return, a throw in its body): nobody reads the rest.
        this.attempt.abort();
        this.rejectFinal(new APIUserAbortError("The stream was not read to its end."));
      }
    }
  }

  private parse(data: string): Chunk {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (cause) {
      throw new LavashError(`A stream event is not JSON: ${data.slice(0, 200)}`, { cause });
    }
    if (typeof value === "object" && value !== null && "error" in value && value.error != null) {
      throw new APIError(undefined, value.error, undefined, this.response.headers);
    }
    return value as Chunk;
  }
}
