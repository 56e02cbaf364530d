// An upstream's event stream, whatever its framing, → the chunks lavash writes with its own SSE
// writer (src/endpoints/shared/sse.ts). The parser follows the WHATWG rules (LF, CRLF or CR line
// ends, `event:`/`id:`/`retry:` fields, `:` comments, data lines joined with LF) and also
// dispatches an event the upstream left without its final blank line. The reframer renames the
// model, keeps usage to the end (one usage chunk before [DONE], only when the client asked), and
// turns an error event into an error.
import type { ApiError } from "../endpoints/shared/errors.js";
import { streamError } from "./upstream-errors.js";

export interface SseEvent {
  /** The `event:` field; null when absent. */
  event: string | null;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event: string | null = null;
  private started = false;

  /** The events completed by `text` (the next piece of the decoded body). */
  feed(text: string): SseEvent[] {
    this.buffer += text;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.charCodeAt(0) === 0xfeff) this.buffer = this.buffer.slice(1);
    }
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      // A CR at the end may be the first half of a CRLF: wait for the next piece.
      if (c === "\r" && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), out);
      if (c === "\r" && this.buffer[i + 1] === "\n") i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The body ended: what is left (a last line without its end, an event without its blank line). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.buffer.replace(/\r$/, "");
    this.buffer = "";
    if (rest.length > 0) this.line(rest, out);
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push({ event: this.event, data: this.data.join("\n") });
      this.data = [];
      this.event = null;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
  }
}

/**
 * An event's JSON object; "done" for [DONE]; "error" for an `error` event whose data is not JSON;
 * null for anything else that is not an object (an engine's own progress note, a broken event).
 */
function eventPayload(ev: SseEvent): Record<string, unknown> | "done" | "error" | null {
  const data = ev.data.trim();
  if (data === "[DONE]") return "done";
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return ev.event === "error" ? "error" : null;
  }
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

export type ReframeStep =
  | { kind: "chunks"; chunks: Record<string, unknown>[] }
  | { kind: "done"; chunks: Record<string, unknown>[] }
  | { kind: "error"; error: ApiError };

export interface ReframeOptions {
  /** The client's stream_options.include_usage. */
  includeUsage: boolean;
  /** The model name the client sees in the chunks. */
  model: string;
  /** For error messages. */
  replica: string;
}

export class ChunkReframer implements StreamReframer {
  /** The last usage the upstream reported; null when it sent none. */
  usage: Usage | null = null;
  private usageChunk: Record<string, unknown> | null = null;
  private finished = false;

  constructor(private readonly options: ReframeOptions) {}

  /** What to write for one upstream event. */
  event(ev: SseEvent): ReframeStep {
    if (this.finished) return { kind: "chunks", chunks: [] };
    const chunk = eventPayload(ev);
    if (chunk === "done") return this.end();
    if (chunk === "error") return this.fail(streamError(ev.data.trim(), this.options.replica));
    if (chunk === null) return { kind: "chunks", chunks: [] };
    if (ev.event === "error" || ("error" in chunk && chunk.error !== null && !("choices" in chunk)))
      return this.fail(streamError(chunk, this.options.replica));
    if ("model" in chunk) chunk.model = this.options.model;
    const usage = chunk.usage;
    if (usage !== null && typeof usage === "object") {
      this.usage = usage as Usage;
      this.usageChunk = { ...chunk, choices: [], usage };
    }
    const choices = chunk.choices;
    if (Array.isArray(choices) && choices.length === 0) return { kind: "chunks", chunks: [] };
    if (this.options.includeUsage) chunk.usage = null;
    else delete chunk.usage;
    return { kind: "chunks", chunks: [chunk] };
  }

  /** The upstream's body ended (with or without [DONE]). */
  end(): ReframeStep {
    if (this.finished) return { kind: "chunks", chunks: [] };
    this.finished = true;
    return { kind: "done", chunks: this.options.includeUsage && this.usageChunk !== null ? [this.usageChunk] : [] };
  }

  private fail(error: ApiError): ReframeStep {
    this.finished = true;
    return { kind: "error", error };
  }
}

/** What relays a stream: ChunkReframer (chat, completions) or ResponseEventReframer (Responses API). */
export interface StreamReframer {
  readonly usage: Usage | null;
  event(ev: SseEvent): ReframeStep;
  end(): ReframeStep;
}

/** The Responses API's last events: after one of them the stream is over. */
const TERMINAL_RESPONSE_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * An upstream's Responses API stream → the events lavash writes (`event: <type>` then the data,
 * no [DONE]). Event names and sequence numbers are kept; the response's `model` is renamed; the
 * usage of the last response (input/output tokens) is kept for the metrics; the response id is
 * kept for pinning (the gateway sends previous_response_id and GET /v1/responses/{id} to the
 * replica that stored it). An `error` event ends the stream as an error; a stream that ends
 * before a terminal event (response.completed, .incomplete or .failed) is an error too.
 */
export class ResponseEventReframer implements StreamReframer {
  usage: Usage | null = null;
  /** The id of the response, from the first event that carries it. */
  responseId: string | null = null;
  /** The last sequence_number seen (an error event of the gateway's own takes the next). */
  lastSequence = -1;
  private finished = false;

  constructor(private readonly options: Omit<ReframeOptions, "includeUsage">) {}

  event(ev: SseEvent): ReframeStep {
    if (this.finished) return { kind: "chunks", chunks: [] };
    const payload = eventPayload(ev);
    if (payload === "done") return this.end();
    if (payload === "error") return this.fail(streamError(ev.data.trim(), this.options.replica));
    if (payload === null) return { kind: "chunks", chunks: [] };
    const type = typeof payload.type === "string" ? payload.type : ev.event;
    if (type === null || type === "") return { kind: "chunks", chunks: [] };
    if (typeof payload.type !== "string") payload.type = type;
    if (typeof payload.sequence_number === "number") this.lastSequence = payload.sequence_number;
    if (type === "error") {
      // lavash's error event carries the error object; OpenAI's has code, message, param alone.
      const { message, code, param } = payload;
      const inner =
        payload.error !== null && typeof payload.error === "object" ? payload.error : { message, code, param };
      return this.fail(streamError({ error: inner }, this.options.replica));
    }
    const response = payload.response;
    if (response !== null && typeof response === "object" && !Array.isArray(response)) {
      const r = response as Record<string, unknown>;
      if ("model" in r) r.model = this.options.model;
      if (this.responseId === null && typeof r.id === "string") this.responseId = r.id;
      if (r.usage !== null && typeof r.usage === "object") this.usage = responsesUsage(r.usage);
    }
    if (TERMINAL_RESPONSE_EVENTS.has(type)) {
      this.finished = true;
      return { kind: "done", chunks: [payload] };
    }
    return { kind: "chunks", chunks: [payload] };
  }

  end(): ReframeStep {
    if (this.finished) return { kind: "chunks", chunks: [] };
    return this.fail(
      streamError(
        { error: { message: `The upstream ${this.options.replica} ended the stream before its last event.` } },
        this.options.replica,
      ),
    );
  }

  private fail(error: ApiError): ReframeStep {
    this.finished = true;
    return { kind: "error", error };
  }
}

/** The Responses API's usage (input_tokens, output_tokens) in chat's names. */
export function responsesUsage(value: object): Usage {
  const u = value as Record<string, unknown>;
  const details = u.input_tokens_details as { cached_tokens?: unknown } | null | undefined;
  return {
    ...(typeof u.input_tokens === "number" ? { prompt_tokens: u.input_tokens } : {}),
    ...(typeof u.output_tokens === "number" ? { completion_tokens: u.output_tokens } : {}),
    ...(typeof details?.cached_tokens === "number"
      ? { prompt_tokens_details: { cached_tokens: details.cached_tokens } }
      : {}),
  };
}
