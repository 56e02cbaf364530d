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

export class ChunkReframer {
  /** The last usage the upstream reported; null when it sent none. */
  usage: Usage | null = null;
  private usageChunk: Record<string, unknown> | null = null;
  private finished = false;

  constructor(private readonly options: ReframeOptions) {}

  /** What to write for one upstream event. */
  event(ev: SseEvent): ReframeStep {
    if (this.finished) return { kind: "chunks", chunks: [] };
    const data = ev.data.trim();
    if (data === "[DONE]") return this.end();
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      // Not JSON: an engine's own progress note, or a broken event; an error event says so.
      if (ev.event === "error") return this.fail(streamError(data, this.options.replica));
      return { kind: "chunks", chunks: [] };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { kind: "chunks", chunks: [] };
    const chunk = value as Record<string, unknown>;
    if (ev.event === "error" || ("error" in chunk && chunk.error !== null && !("choices" in chunk)))
      return this.fail(streamError(value, this.options.replica));
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
