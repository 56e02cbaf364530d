// chat.completion and chat.completion.chunk bodies, with every key the spec marks required
// (openai-node's stream helpers throw on a missing role or finish_reason).
import {
  SYSTEM_FINGERPRINT,
  newChatCompletionId,
  toWireUsage,
  unixSeconds,
  type TokenUsage,
  type WireUsage,
} from "../shared/response-fields.js";
import type { WireItsDiagnostics } from "../shared/its/diagnostics.js";
import { chatChoiceLogprobs, type ChatChoiceLogprobs, type ChatTokenLogprob } from "../shared/logprobs.js";

export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

export interface WireFunctionCall {
  name: string;
  arguments: string;
}

export interface WireToolCall {
  id: string;
  type: "function";
  function: WireFunctionCall;
}

export interface ChatCompletionMessage {
  role: "assistant";
  /** null when the turn is function calls only. */
  content: string | null;
  refusal: string | null;
  /** Absent when there are none (as OpenAI does). */
  tool_calls?: WireToolCall[];
  /** The deprecated function calling (`functions`): the call, instead of tool_calls; absent without one. */
  function_call?: WireFunctionCall;
  /** Extension (reasoning_format): the model's `<think>` text; null when it wrote none. */
  reasoning_content?: string | null;
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  logprobs: ChatChoiceLogprobs | null;
  finish_reason: ChatFinishReason;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatCompletionChoice[];
  usage: WireUsage;
  /** Extension: what an inference-time scaling run (`its`) did; absent without one. */
  its?: WireItsDiagnostics;
}

export interface ChatChoiceResult {
  /** Defaults to the position in the list. */
  index?: number;
  content: string;
  finishReason: ChatFinishReason;
  /** The choice's token entries (chatLogprobEntries) when logprobs were requested, else null/absent. */
  logprobs?: ChatTokenLogprob[] | null;
  toolCalls?: readonly { id: string; name: string; arguments: string }[];
  /** The deprecated function calling: the choice's call, written as `function_call` (toolCalls unused). */
  functionCall?: WireFunctionCall | null;
  /** undefined: reasoning is not separated (no field); null: separated, none written. */
  reasoning?: string | null;
}

export interface ChatCompletionInput {
  id?: string;
  created?: number;
  model: string;
  choices: readonly ChatChoiceResult[];
  usage: TokenUsage;
  systemFingerprint?: string;
  /** The diagnostics of an `its` run (wireItsDiagnostics). */
  its?: WireItsDiagnostics;
}

export function buildChatCompletion(input: ChatCompletionInput): ChatCompletion {
  const completion: ChatCompletion = {
    id: input.id ?? newChatCompletionId(),
    object: "chat.completion",
    created: input.created ?? unixSeconds(),
    model: input.model,
    system_fingerprint: input.systemFingerprint ?? SYSTEM_FINGERPRINT,
    choices: input.choices.map((c, i) => ({
      index: c.index ?? i,
      message: chatMessage(c),
      logprobs: chatChoiceLogprobs(c.logprobs),
      finish_reason: c.finishReason,
    })),
    usage: toWireUsage(input.usage),
  };
  if (input.its !== undefined) completion.its = input.its;
  return completion;
}

function chatMessage(c: ChatChoiceResult): ChatCompletionMessage {
  const calls = c.toolCalls ?? [];
  const called = calls.length > 0 || c.functionCall != null;
  const message: ChatCompletionMessage = {
    role: "assistant",
    content: called && c.content === "" ? null : c.content,
    refusal: null,
  };
  if (c.functionCall != null)
    message.function_call = { name: c.functionCall.name, arguments: c.functionCall.arguments };
  else if (calls.length > 0)
    message.tool_calls = calls.map((t) => ({
      id: t.id,
      type: "function",
      function: { name: t.name, arguments: t.arguments },
    }));
  if (c.reasoning !== undefined) message.reasoning_content = c.reasoning;
  return message;
}

// ---- streaming ----

/** A streamed tool call: the first delta of a call has id, type and name; later ones arguments. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

/** A streamed deprecated function_call: the first delta has the name, later ones arguments only. */
export interface FunctionCallDelta {
  name?: string;
  arguments: string;
}

export type ChatDelta =
  | {
      role: "assistant";
      content: string | null;
      refusal: null;
      tool_calls?: ToolCallDelta[];
      function_call?: FunctionCallDelta;
    }
  | { content: string }
  | { reasoning_content: string }
  | { tool_calls: ToolCallDelta[] }
  | { function_call: FunctionCallDelta }
  | Record<string, never>;

export interface ChatChunkChoice {
  index: number;
  delta: ChatDelta;
  logprobs: ChatChoiceLogprobs | null;
  finish_reason: ChatFinishReason | null;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatChunkChoice[];
  /** Present only with stream_options.include_usage: null on every chunk but the last. */
  usage?: WireUsage | null;
  /** Extension: an `its` run's diagnostics, on the stream's final chunk only. */
  its?: WireItsDiagnostics;
}

export interface StreamBuilderOptions {
  id?: string;
  created?: number;
  model: string;
  /** stream_options.include_usage */
  includeUsage: boolean;
  systemFingerprint?: string;
}

/**
 * Builds the chunks of one streamed response; id and created are fixed at construction since
 * every chunk of a stream must repeat them.
 */
export class ChatStreamBuilder {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
  readonly systemFingerprint: string;

  constructor(options: StreamBuilderOptions) {
    this.id = options.id ?? newChatCompletionId();
    this.created = options.created ?? unixSeconds();
    this.model = options.model;
    this.includeUsage = options.includeUsage;
    this.systemFingerprint = options.systemFingerprint ?? SYSTEM_FINGERPRINT;
  }

  /**
   * First chunk of each choice: the SDK drops content until it has seen the role. With logprobs
   * requested it carries an empty list, as OpenAI's streams do.
   */
  roleChunk(index = 0, withLogprobs = false): ChatCompletionChunk {
    return this.chunk([
      {
        index,
        delta: { role: "assistant", content: "", refusal: null },
        logprobs: withLogprobs ? { content: [], refusal: null } : null,
        finish_reason: null,
      },
    ]);
  }

  /**
   * `logprobs` holds the entries of exactly the tokens behind `text`; the SDK concatenates them.
   * `text` may be empty while `logprobs` is not, so tokens whose text is still held back (an
   * incomplete UTF-8 character, a possible stop sequence) can be reported when they are scored.
   */
  contentChunk(index: number, text: string, logprobs?: ChatTokenLogprob[]): ChatCompletionChunk {
    return this.chunk([
      { index, delta: { content: text }, logprobs: chatChoiceLogprobs(logprobs), finish_reason: null },
    ]);
  }

  /**
   * Opens function call `call` of a choice. `opensChoice`: the choice's first chunk, which then
   * also carries the role, with content null (OpenAI's form for a turn that starts with calls).
   */
  toolCallChunk(index: number, call: number, id: string, name: string, opensChoice: boolean): ChatCompletionChunk {
    const tool_calls: ToolCallDelta[] = [{ index: call, id, type: "function", function: { name, arguments: "" } }];
    const delta: ChatDelta = opensChoice
      ? { role: "assistant", content: null, refusal: null, tool_calls }
      : { tool_calls };
    return this.chunk([{ index, delta, logprobs: null, finish_reason: null }]);
  }

  toolArgumentsChunk(index: number, call: number, fragment: string): ChatCompletionChunk {
    return this.chunk([
      {
        index,
        delta: { tool_calls: [{ index: call, function: { arguments: fragment } }] },
        logprobs: null,
        finish_reason: null,
      },
    ]);
  }

  /**
   * Opens the deprecated function_call of a choice (name, empty arguments), as toolCallChunk opens
   * a tool call; OpenAI streams it this way.
   */
  functionCallChunk(index: number, name: string, opensChoice: boolean): ChatCompletionChunk {
    const function_call: FunctionCallDelta = { name, arguments: "" };
    const delta: ChatDelta = opensChoice
      ? { role: "assistant", content: null, refusal: null, function_call }
      : { function_call };
    return this.chunk([{ index, delta, logprobs: null, finish_reason: null }]);
  }

  functionArgumentsChunk(index: number, fragment: string): ChatCompletionChunk {
    return this.chunk([
      { index, delta: { function_call: { arguments: fragment } }, logprobs: null, finish_reason: null },
    ]);
  }

  reasoningChunk(index: number, text: string): ChatCompletionChunk {
    return this.chunk([{ index, delta: { reasoning_content: text }, logprobs: null, finish_reason: null }]);
  }

  /** `its`: an `its` run's diagnostics, when this is the stream's final chunk (no usage chunk follows). */
  finishChunk(index: number, reason: ChatFinishReason, its?: WireItsDiagnostics): ChatCompletionChunk {
    const chunk = this.chunk([{ index, delta: {}, logprobs: null, finish_reason: reason }]);
    if (its !== undefined) chunk.its = its;
    return chunk;
  }

  /** The closing `choices: []` chunk with totals (and an `its` run's diagnostics); null when the client did not ask for usage. */
  usageChunk(usage: TokenUsage, its?: WireItsDiagnostics): ChatCompletionChunk | null {
    if (!this.includeUsage) return null;
    const chunk: ChatCompletionChunk = { ...this.base(), choices: [], usage: toWireUsage(usage) };
    if (its !== undefined) chunk.its = its;
    return chunk;
  }

  private chunk(choices: ChatChunkChoice[]): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = { ...this.base(), choices };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }

  private base(): Omit<ChatCompletionChunk, "choices" | "usage"> {
    return {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      system_fingerprint: this.systemFingerprint,
    };
  }
}
