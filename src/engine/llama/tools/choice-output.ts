// Turns a chat generation's text events into what the API reports per choice: content,
// reasoning, and function calls (see output-parser.ts), with `tool_calls` as the finish reason of
// a choice that called functions (except for a named tool_choice, where OpenAI says `stop`).
import { randomBytes } from "node:crypto";
import type { GenerationEvent, PositionedTokenLogprob } from "../../types.js";
import { ChatOutputParser, type OutputParserOptions, type ParsedPiece } from "./output-parser.js";

export interface ChoiceOutputOptions extends OutputParserOptions {
  /** tool_choice named one function: its calls finish with `stop`. */
  namedChoice: boolean;
}

export class ChatChoiceOutputs {
  private readonly parsers = new Map<number, ChatOutputParser>();
  /** Logprobs of text held back by a parser, released with the next content. */
  private readonly pendingLogprobs = new Map<number, PositionedTokenLogprob[]>();

  constructor(private readonly options: ChoiceOutputOptions) {}

  map(event: GenerationEvent): GenerationEvent[] {
    if (event.type === "text") {
      if (event.logprobs) this.pending(event.index).push(...event.logprobs);
      return this.events(event.index, this.parser(event.index).push(event.text), event.logprobs !== null);
    }
    if (event.type === "finish") {
      const parser = this.parser(event.index);
      const out = this.events(event.index, parser.end(), this.pendingLogprobs.has(event.index));
      const calls = parser.calls > 0 && event.finishReason === "stop" && !this.options.namedChoice;
      out.push(calls ? { ...event, finishReason: "tool_calls" } : event);
      return out;
    }
    return [event];
  }

  private parser(index: number): ChatOutputParser {
    let p = this.parsers.get(index);
    if (!p) this.parsers.set(index, (p = new ChatOutputParser(this.options)));
    return p;
  }

  private pending(index: number): PositionedTokenLogprob[] {
    let p = this.pendingLogprobs.get(index);
    if (!p) this.pendingLogprobs.set(index, (p = []));
    return p;
  }

  private events(index: number, pieces: ParsedPiece[], withLogprobs: boolean): GenerationEvent[] {
    const out: GenerationEvent[] = [];
    for (const piece of pieces) {
      switch (piece.kind) {
        case "content": {
          const logprobs = withLogprobs ? this.pending(index).splice(0) : null;
          out.push({ type: "text", index, text: piece.text, logprobs });
          break;
        }
        case "reasoning":
          out.push({ type: "reasoning", index, text: piece.text });
          break;
        case "call":
          // Tokens of calls are not content: OpenAI reports no logprobs for them.
          this.pendingLogprobs.get(index)?.splice(0);
          out.push({ type: "tool_call", index, call: piece.call, id: newToolCallId(), name: piece.name });
          break;
        case "arguments":
          out.push({ type: "tool_arguments", index, call: piece.call, text: piece.text });
          break;
      }
    }
    return out;
  }
}

/** OpenAI's form: `call_` and 24 letters and digits. */
function newToolCallId(): string {
  return `call_${randomBytes(18).toString("base64url").replace(/[-_]/g, "0").slice(0, 24)}`;
}
