// Server-sent events parsing with arrival times, and what a streamed completion's events say
// about its timing. Times are those at which the bytes reached the client: an event split over
// two network reads counts from the read that completed it, because that is when a client could
// have shown it.

import { SseParser as ClientSseParser } from "../client/sse.js";

export interface SseEvent {
  /** The event's data lines joined with "\n". */
  data: string;
  /** Arrival time (ms, the caller's clock) of the read that completed the event. */
  at: number;
}

/** The client's SSE parser, with each event stamped with the arrival of the read that completed it. */
export class SseParser {
  private readonly parser = new ClientSseParser();

  /** Feeds decoded text received at `at`; returns the events it completed. */
  push(text: string, at: number): SseEvent[] {
    return this.parser.feed(text).map((data) => ({ data, at }));
  }

  /** End of stream: an event without its closing blank line is still delivered. */
  end(at: number): SseEvent[] {
    return this.parser.end().map((data) => ({ data, at }));
  }
}

/** One streamed completion as the client saw it. All times in ms on the caller's clock. */
export interface StreamTiming {
  startedAt: number;
  endedAt: number;
  /** Arrival of every chunk that carried non-empty text. */
  textTimes: number[];
  /** completion_tokens of the usage chunk, when the server sent one. */
  usageTokens: number | null;
  /** prompt_tokens of the usage chunk, when the server sent one. */
  promptTokens: number | null;
  /** usage.prompt_tokens_details.cached_tokens: prompt tokens the server reused from its cache. */
  cachedTokens: number | null;
  finishReason: string | null;
  /** Whether `data: [DONE]` arrived. */
  done: boolean;
  /** A transport failure, an HTTP error status, or an error event in the stream. */
  error: string | null;
  /** The client ended the stream on purpose before it finished (not an error). */
  cancelled: boolean;
}

interface ChunkShape {
  error?: { message?: unknown } | unknown;
  choices?: { text?: unknown; delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: {
    completion_tokens?: unknown;
    prompt_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  } | null;
}

/**
 * Reads the events of a streamed `/v1/completions` (choices[].text) or `/v1/chat/completions`
 * (choices[].delta.content) response.
 */
export function analyzeStream(
  events: readonly SseEvent[],
  startedAt: number,
  endedAt: number,
  transportError: string | null = null,
  cancelled = false,
): StreamTiming {
  const timing: StreamTiming = {
    startedAt,
    endedAt,
    textTimes: [],
    usageTokens: null,
    promptTokens: null,
    cachedTokens: null,
    finishReason: null,
    done: false,
    error: transportError,
    cancelled,
  };
  for (const event of events) {
    if (event.data === "[DONE]") {
      timing.done = true;
      continue;
    }
    let chunk: ChunkShape;
    try {
      chunk = JSON.parse(event.data) as ChunkShape;
    } catch {
      timing.error ??= `unparseable event: ${event.data.slice(0, 120)}`;
      continue;
    }
    if (chunk === null || typeof chunk !== "object") continue;
    if (chunk.error !== undefined && chunk.error !== null) {
      const message = (chunk.error as { message?: unknown }).message;
      timing.error ??= typeof message === "string" ? message : JSON.stringify(chunk.error);
      continue;
    }
    for (const choice of chunk.choices ?? []) {
      const text =
        typeof choice.text === "string"
          ? choice.text
          : typeof choice.delta?.content === "string"
            ? choice.delta.content
            : "";
      if (text.length > 0) timing.textTimes.push(event.at);
      if (typeof choice.finish_reason === "string") timing.finishReason = choice.finish_reason;
    }
    const usage = chunk.usage;
    if (typeof usage?.completion_tokens === "number") timing.usageTokens = usage.completion_tokens;
    if (typeof usage?.prompt_tokens === "number") timing.promptTokens = usage.prompt_tokens;
    const cached = usage?.prompt_tokens_details?.cached_tokens;
    if (typeof cached === "number") timing.cachedTokens = cached;
  }
  if (timing.error === null && !cancelled && !timing.done && timing.finishReason === null)
    timing.error = "the stream ended before the completion finished";
  return timing;
}

/** Generated tokens: the server's usage count, else one per text chunk (a lower bound). */
export function tokenCount(t: StreamTiming): number {
  return t.usageTokens ?? t.textTimes.length;
}

/** Time to first token: request start to the first chunk with text. */
export function ttftMs(t: StreamTiming): number | null {
  return t.textTimes.length === 0 ? null : t.textTimes[0]! - t.startedAt;
}

/** Decode time per token after the first: (last text − first text) / (tokens − 1). */
export function decodeMsPerToken(t: StreamTiming): number | null {
  const n = tokenCount(t);
  if (n < 2 || t.textTimes.length < 2) return null;
  const span = t.textTimes[t.textTimes.length - 1]! - t.textTimes[0]!;
  return span > 0 ? span / (n - 1) : null;
}

export function decodeTokPerS(t: StreamTiming): number | null {
  const ms = decodeMsPerToken(t);
  return ms === null ? null : 1000 / ms;
}

/** Gaps between consecutive text chunks (inter-token latency as the client sees it). */
export function interTokenGaps(t: StreamTiming): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < t.textTimes.length; i++) gaps.push(t.textTimes[i]! - t.textTimes[i - 1]!);
  return gaps;
}
