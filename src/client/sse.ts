// Server-sent events, as the WHATWG spec reads them: lines end with LF, CRLF or CR (a CR at the
// end of one network read may be the first half of a CRLF), a blank line ends an event, an event's
// `data:` lines are joined with "\n", and comments (`: keepalive`), `event:`, `id:` and `retry:`
// carry nothing this API uses.

/** Turns decoded text, fed in arbitrary pieces, into the data of complete events. */
export class SseParser {
  private buffer = "";
  /** The last piece ended with CR: a LF opening the next one belongs to it. */
  private skipLF = false;
  private data: string[] = [];

  /** The data of each event completed by `text`, in order. */
  feed(text: string): string[] {
    if (this.skipLF && text.startsWith("\n")) text = text.slice(1);
    this.skipLF = false;
    const buffer = this.buffer + text;
    const events: string[] = [];
    const lineEnd = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = lineEnd.exec(buffer); m !== null; m = lineEnd.exec(buffer)) {
      if (m[0] === "\r" && lineEnd.lastIndex === buffer.length) this.skipLF = true;
      this.line(buffer.slice(start, m.index), events);
      start = lineEnd.lastIndex;
    }
    this.buffer = buffer.slice(start);
    return events;
  }

  /** At the end of the body: an unterminated last line, and an event without its blank line. */
  end(): string[] {
    const events: string[] = [];
    if (this.buffer !== "") this.line(this.buffer, events);
    this.buffer = "";
    this.line("", events);
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === "") {
      if (this.data.length > 0) events.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return;
    const value = colon < 0 ? "" : line.slice(colon + 1);
    this.data.push(value.startsWith(" ") ? value.slice(1) : value);
  }
}

/** Hooks around each network read (a stream's timeout runs only while one waits). */
export interface ReadHooks {
  beforeRead(): void;
  afterRead(): void;
}

/** The data of every event of a response body. Stopping early (return, throw) cancels the body. */
export async function* sseData(body: ReadableStream<Uint8Array>, hooks: ReadHooks): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      hooks.beforeRead();
      const { done, value } = await reader.read();
      hooks.afterRead();
      if (done) break;
      yield* parser.feed(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.feed(decoder.decode());
    yield* parser.end();
  } finally {
    if (!finished) reader.cancel().catch(() => {});
  }
}
