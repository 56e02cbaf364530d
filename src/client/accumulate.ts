// Rebuilding the non-streamed response from a stream's chunks, choice by choice (chunks of
// several choices interleave, told apart by `index`): text concatenated, tool calls by their
// index with the arguments concatenated, logprobs appended, the finish reason and the usage kept.
// The request says which optional parts the full response would carry even where no chunk does
// (logprobs asked for, reasoning separated).
import type { ChatChoiceLogprobs, LegacyLogprobs } from "../endpoints/shared/logprobs.js";
import { LavashError } from "./errors.js";
import type { Accumulator } from "./stream.js";
import type {
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessage,
  ChatFinishReason,
  Completion,
  CompletionChoice,
  CompletionCreateParams,
  CompletionFinishReason,
  CompletionUsage,
  StreamedChatCompletion,
} from "./types.js";

interface ChunkHead {
  id: string;
  created: number;
  model: string;
  system_fingerprint: string;
}

/** What every accumulator keeps: the fields all chunks repeat, the usage, a state per choice. */
abstract class ChoiceAccumulator<Chunk extends ChunkHead & { usage?: CompletionUsage | null }, State, Final>
  implements Accumulator<Chunk, Final>
{
  private head: ChunkHead | undefined;
  private usage: CompletionUsage | undefined;
  private readonly states = new Map<number, State>();

  abstract add(chunk: Chunk): void;
  abstract result(): Final;

  protected begin(chunk: Chunk): void {
    this.head ??= {
      id: chunk.id,
      created: chunk.created,
      model: chunk.model,
      system_fingerprint: chunk.system_fingerprint,
    };
    if (chunk.usage != null) this.usage = chunk.usage;
  }

  protected state(index: number, create: () => State): State {
    let state = this.states.get(index);
    if (state === undefined) {
      state = create();
      this.states.set(index, state);
    }
    return state;
  }

  /** The common fields, and the choices in index order; usage only when the stream had it. */
  protected assemble<Choice>(
    choice: (index: number, state: State) => Choice,
  ): ChunkHead & { choices: Choice[]; usage?: CompletionUsage } {
    if (this.head === undefined) throw new LavashError("The stream ended without a single chunk.");
    const choices = [...this.states.entries()].sort(([a], [b]) => a - b).map(([index, state]) => choice(index, state));
    return { ...this.head, choices, ...(this.usage === undefined ? {} : { usage: this.usage }) };
  }
}

function finished<R>(index: number, reason: R | null): R {
  if (reason === null) throw new LavashError(`Choice ${index} of the stream ended without a finish_reason.`);
  return reason;
}

/** Appends `items` to `list` in place (a loop: a spread of a long echoed prompt could overflow the stack). */
function extend<T>(list: T[], items: readonly T[]): void {
  for (const item of items) list.push(item);
}

/** Appends `items` to `list` (null stays null while nothing is appended). */
function append<T>(list: T[] | null, items: readonly T[] | null | undefined): T[] | null {
  if (items == null) return list;
  const out = list ?? [];
  extend(out, items);
  return out;
}

// ---- chat ----

interface ChatChoiceState {
  content: string | null;
  refusal: string | null;
  /** undefined: reasoning not separated, so the full response has no such field. */
  reasoning: string | null | undefined;
  calls: Map<number, { id: string; name: string; arguments: string }>;
  logprobs: ChatChoiceLogprobs | null;
  finish: ChatFinishReason | null;
}

export class ChatCompletionAccumulator extends ChoiceAccumulator<
  ChatCompletionChunk,
  ChatChoiceState,
  StreamedChatCompletion
> {
  constructor(private readonly request: Pick<ChatCompletionCreateParams, "logprobs" | "reasoning_format">) {
    super();
  }

  add(chunk: ChatCompletionChunk): void {
    this.begin(chunk);
    for (const choice of chunk.choices) {
      const s = this.state(choice.index, () => this.newState());
      const delta = choice.delta;
      if (delta.content != null) s.content = (s.content ?? "") + delta.content;
      if (delta.refusal != null) s.refusal = (s.refusal ?? "") + delta.refusal;
      if (delta.reasoning_content != null) s.reasoning = (s.reasoning ?? "") + delta.reasoning_content;
      for (const part of delta.tool_calls ?? []) {
        const call = s.calls.get(part.index) ?? { id: "", name: "", arguments: "" };
        if (part.id) call.id = part.id;
        if (part.function.name) call.name = part.function.name;
        call.arguments += part.function.arguments ?? "";
        s.calls.set(part.index, call);
      }
      if (choice.logprobs != null) {
        s.logprobs ??= { content: null, refusal: null };
        s.logprobs.content = append(s.logprobs.content, choice.logprobs.content);
        s.logprobs.refusal = append(s.logprobs.refusal, choice.logprobs.refusal);
      }
      if (choice.finish_reason != null) s.finish = choice.finish_reason;
    }
  }

  result(): StreamedChatCompletion {
    return { ...this.assemble((index, s) => chatChoice(index, s)), object: "chat.completion" };
  }

  private newState(): ChatChoiceState {
    const separated = this.request.reasoning_format === "parsed" || this.request.reasoning_format === "deepseek";
    return {
      content: null,
      refusal: null,
      reasoning: separated ? null : undefined,
      calls: new Map(),
      logprobs: this.request.logprobs === true ? { content: [], refusal: null } : null,
      finish: null,
    };
  }
}

function chatChoice(index: number, s: ChatChoiceState): ChatCompletionChoice {
  const calls = [...s.calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, c]) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } }));
  // As the server writes a full response: content is null for a turn of calls only, else a string.
  const message: ChatCompletionMessage = {
    role: "assistant",
    content: calls.length > 0 && !s.content ? null : (s.content ?? ""),
    refusal: s.refusal,
  };
  if (calls.length > 0) message.tool_calls = calls;
  if (s.reasoning !== undefined) message.reasoning_content = s.reasoning;
  return { index, message, logprobs: s.logprobs, finish_reason: finished(index, s.finish) };
}

// ---- legacy completions ----

interface CompletionChoiceState {
  text: string;
  logprobs: LegacyLogprobs | null;
  finish: CompletionFinishReason | null;
}

function emptyLegacyLogprobs(): LegacyLogprobs {
  return { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
}

export class CompletionAccumulator extends ChoiceAccumulator<Completion, CompletionChoiceState, Completion> {
  constructor(private readonly request: Pick<CompletionCreateParams, "logprobs">) {
    super();
  }

  add(chunk: Completion): void {
    this.begin(chunk);
    for (const choice of chunk.choices) {
      const s = this.state(choice.index, () => ({
        text: "",
        logprobs: this.request.logprobs != null ? emptyLegacyLogprobs() : null,
        finish: null,
      }));
      s.text += choice.text;
      if (choice.logprobs != null) {
        const to = (s.logprobs ??= emptyLegacyLogprobs());
        extend(to.tokens, choice.logprobs.tokens);
        extend(to.token_logprobs, choice.logprobs.token_logprobs);
        extend(to.top_logprobs, choice.logprobs.top_logprobs);
        extend(to.text_offset, choice.logprobs.text_offset);
      }
      if (choice.finish_reason != null) s.finish = choice.finish_reason;
    }
  }

  result(): Completion {
    return {
      ...this.assemble(
        (index, s): CompletionChoice => ({
          text: s.text,
          index,
          logprobs: s.logprobs,
          finish_reason: finished(index, s.finish),
        }),
      ),
      object: "text_completion",
    };
  }
}
