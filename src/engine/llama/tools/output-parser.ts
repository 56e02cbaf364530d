// Splits a chat choice's generated text, as it streams, into what the API returns separately:
// reasoning (a leading `<think>…</think>`), content, and function calls in the model's syntax
// (see syntax.ts), whose arguments stream as fragments. Under a tool grammar the calls are
// well-formed by construction; without one (a model that calls on its own), text that does not
// parse as a call stays content.
import type { ToolCallSyntax } from "./syntax.js";

export type ParsedPiece =
  | { kind: "content"; text: string }
  | { kind: "reasoning"; text: string }
  | { kind: "call"; call: number; name: string }
  | { kind: "arguments"; call: number; text: string };

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";
/** A call header longer than this without matching is not a call. */
const MAX_HEADER = 256;

type State = "start" | "reasoning" | "content" | "header" | "arguments" | "after-call";

export interface OutputParserOptions {
  syntax: ToolCallSyntax | null;
  separateReasoning: boolean;
}

export class ChatOutputParser {
  private state: State;
  private buffer = "";
  private out: ParsedPiece[] = [];
  private callCount = 0;
  private readonly header: RegExp;
  private readonly nextHeader: RegExp;
  private readonly callEnd: RegExp;
  private readonly blockEnd: RegExp | null;
  // JSON scanner state for the arguments value.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  /** Whitespace right after `<think>` and `</think>` is layout, not text. */
  private skipSpace = false;
  /** Whitespace held back before a possible call, given back if it is not one. */
  private spaceBeforeCall = "";

  constructor(private readonly options: OutputParserOptions) {
    this.state = options.separateReasoning ? "start" : "content";
    const s = options.syntax;
    const ws = "\\s*";
    const esc = (text: string) => text.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const key = s?.argumentsKey ?? "arguments";
    const object = `\\{${ws}"name"${ws}:${ws}"([^"\\\\]+)"${ws},${ws}"${key}"${ws}:${ws}`;
    this.header = new RegExp(`^${ws}${esc(s?.blockOpen ?? "")}${ws}${esc(s?.callOpen ?? "")}${ws}${object}`);
    this.nextHeader = new RegExp(`^${ws}${esc(s?.separator ?? "")}${ws}${esc(s?.callOpen ?? "")}${ws}${object}`);
    this.callEnd = new RegExp(`^${ws}\\}${ws}${esc(s?.callClose ?? "")}`);
    this.blockEnd = s && s.blockClose !== "" ? new RegExp(`^${ws}${esc(s.blockClose)}`) : null;
  }

  /** Function calls opened so far. */
  get calls(): number {
    return this.callCount;
  }

  push(text: string): ParsedPiece[] {
    this.buffer += text;
    this.run(false);
    return this.take();
  }

  /** The text is complete: whatever was held back to see what it becomes is released. */
  end(): ParsedPiece[] {
    this.run(true);
    if (this.buffer !== "") {
      const kind = this.state === "reasoning" ? "reasoning" : "content";
      if (this.state !== "arguments") this.emit(kind, this.buffer);
      else this.out.push({ kind: "arguments", call: this.callCount - 1, text: this.buffer });
      this.buffer = "";
    }
    return this.take();
  }

  private take(): ParsedPiece[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private emit(kind: "content" | "reasoning", text: string): void {
    if (this.skipSpace) {
      text = text.replace(/^\s+/, "");
      if (text !== "") this.skipSpace = false;
    }
    if (text === "") return;
    const last = this.out.at(-1);
    if (last && last.kind === kind) last.text += text;
    else this.out.push({ kind, text });
  }

  private run(final: boolean): void {
    for (;;) {
      const before = this.state + this.buffer.length;
      switch (this.state) {
        case "start":
          this.start(final);
          break;
        case "reasoning":
          this.reasoning(final);
          break;
        case "content":
          this.content(final);
          break;
        case "header":
          this.callHeader(final, this.callCount === 0 ? this.header : this.nextHeader);
          break;
        case "arguments":
          this.argumentsValue();
          break;
        case "after-call":
          this.afterCall(final);
          break;
      }
      if (this.state + this.buffer.length === before) return;
    }
  }

  private start(final: boolean): void {
    const trimmed = this.buffer.trimStart();
    if (trimmed.startsWith(THINK_OPEN)) {
      this.buffer = trimmed.slice(THINK_OPEN.length);
      this.state = "reasoning";
      this.skipSpace = true;
    } else if (final || trimmed.length >= THINK_OPEN.length || !THINK_OPEN.startsWith(trimmed)) this.state = "content";
  }

  private reasoning(final: boolean): void {
    const at = this.buffer.indexOf(THINK_CLOSE);
    if (at >= 0) {
      this.emit("reasoning", this.buffer.slice(0, at).trimEnd());
      this.buffer = this.buffer.slice(at + THINK_CLOSE.length);
      this.state = "content";
      this.skipSpace = true;
      return;
    }
    const keep = final ? 0 : holdBack(this.buffer, THINK_CLOSE);
    this.emit("reasoning", this.buffer.slice(0, this.buffer.length - keep));
    this.buffer = this.buffer.slice(this.buffer.length - keep);
  }

  private content(final: boolean): void {
    const trigger = this.options.syntax?.trigger;
    if (!trigger) {
      this.emit("content", this.buffer);
      this.buffer = "";
      return;
    }
    const at = this.buffer.indexOf(trigger);
    if (at >= 0) {
      const before = this.buffer.slice(0, at);
      this.emit("content", before.trimEnd());
      this.spaceBeforeCall = before.slice(before.trimEnd().length);
      this.buffer = this.buffer.slice(at);
      this.state = "header";
      return;
    }
    const keep = final ? 0 : holdBack(this.buffer, trigger);
    this.emit("content", this.buffer.slice(0, this.buffer.length - keep));
    this.buffer = this.buffer.slice(this.buffer.length - keep);
  }

  private callHeader(final: boolean, header: RegExp): void {
    const closed = this.callCount > 0 ? this.blockEnd?.exec(this.buffer) : null;
    if (closed) {
      this.buffer = this.buffer.slice(closed[0].length);
      this.state = "content";
      return;
    }
    const m = header.exec(this.buffer);
    if (m) {
      this.out.push({ kind: "call", call: this.callCount++, name: m[1]! });
      this.spaceBeforeCall = "";
      this.buffer = this.buffer.slice(m[0].length);
      this.state = "arguments";
      this.depth = 0;
      this.inString = this.escaped = this.started = false;
      return;
    }
    if (final || this.buffer.length > MAX_HEADER) {
      // Not a call after all: the text is content (whitespace between calls is nothing).
      if (this.callCount === 0 || this.buffer.trim() !== "") this.emit("content", this.spaceBeforeCall + this.buffer);
      this.buffer = "";
      this.state = "content";
    }
  }

  /** Streams the arguments value until it closes (objects and arrays; strings for lenience). */
  private argumentsValue(): void {
    let i = 0;
    if (!this.started) {
      while (i < this.buffer.length && /\s/.test(this.buffer[i]!)) i++;
      if (i === this.buffer.length) {
        this.buffer = "";
        return;
      }
      this.started = true;
    }
    let end = -1;
    for (let j = i; j < this.buffer.length; j++) {
      const c = this.buffer[j]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.depth === 0) end = j + 1;
        }
      } else if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) end = j + 1;
      }
      if (end >= 0) break;
    }
    const stop = end >= 0 ? end : this.buffer.length;
    if (stop > i) this.out.push({ kind: "arguments", call: this.callCount - 1, text: this.buffer.slice(i, stop) });
    this.buffer = this.buffer.slice(stop);
    if (end >= 0) this.state = "after-call";
  }

  private afterCall(final: boolean): void {
    const closed = this.callEnd.exec(this.buffer);
    if (closed) {
      this.buffer = this.buffer.slice(closed[0].length);
      this.state = "header";
      return;
    }
    // Cut by max_tokens inside the call's closing syntax: that text belongs to the unfinished
    // call, never to the content.
    if (final && isPartialCallEnd(this.buffer, this.options.syntax?.callClose ?? "")) {
      this.buffer = "";
      this.state = "content";
      return;
    }
    if (final || this.buffer.trim().length > 2 + (this.options.syntax?.callClose.length ?? 0)) {
      this.emit("content", this.buffer);
      this.buffer = "";
      this.state = "content";
    }
  }
}

/** Whether `text` (whitespace aside) is a proper beginning of `}` followed by the call's closing tag. */
function isPartialCallEnd(text: string, callClose: string): boolean {
  const compact = text.replace(/\s+/g, "");
  return compact !== "" && `}${callClose.replace(/\s+/g, "")}`.startsWith(compact);
}

/**
 * How much of the end of `text` to hold back: a partial `marker`, and the whitespace before it
 * (dropped if the marker follows), so the split does not depend on how the text was chunked.
 */
function holdBack(text: string, marker: string): number {
  const partial = partialSuffix(text, marker);
  const rest = text.slice(0, text.length - partial);
  return partial + (rest.length - rest.trimEnd().length);
}

/** Length of the longest suffix of `text` that is a proper prefix of `marker`. */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(text.length, marker.length - 1); n > 0; n--)
    if (marker.startsWith(text.slice(text.length - n))) return n;
  return 0;
}
