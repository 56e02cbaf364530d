// The Response object (POST /v1/responses, GET /v1/responses/{id}) and the stream of semantic
// events that builds it (response.created … response.completed), as the official client's types
// describe them (openai/resources/responses/responses.d.ts). ResponseBuilder is the endpoint's
// ResponseShape: shared/respond.ts runs the engine and calls it with what it produced.
import type { FinishReason, PositionedTokenLogprob, ToolCall, Usage } from "../../engine/types.js";
import type { ApiError } from "../shared/errors.js";
import type { WireItsDiagnostics } from "../shared/its/diagnostics.js";
import { type ChatTokenLogprob, chatLogprobEntries, tokenNames } from "../shared/logprobs.js";
import type { FinalChoice, ResponseShape } from "../shared/respond.js";
import { unixSeconds } from "../shared/response-fields.js";
import type { SseEventFormat } from "../shared/sse.js";
import { newItemId } from "./input-items.js";
import { functionTools } from "./mapping.js";
import type { ResponseRequest } from "./schema.js";

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: [];
  logprobs: ChatTokenLogprob[];
}

export interface MessageItem {
  type: "message";
  id: string;
  status: ItemStatus;
  role: "assistant";
  content: OutputText[];
}

export interface FunctionCallItem {
  type: "function_call";
  id: string;
  status: ItemStatus;
  arguments: string;
  call_id: string;
  name: string;
}

export interface ReasoningItem {
  type: "reasoning";
  id: string;
  summary: [];
  content: { type: "reasoning_text"; text: string }[];
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export interface WireResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** The response object; `its` is lavash's extension (a scaling run's diagnostics). */
export interface WireResponse {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  background: false;
  completed_at: number | null;
  error: null;
  incomplete_details: { reason: "max_output_tokens" } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: null; summary: null };
  service_tier: "default";
  store: boolean;
  temperature: number;
  text: { format: Record<string, unknown>; verbosity: "medium" };
  tool_choice: unknown;
  tools: Record<string, unknown>[];
  top_logprobs: number;
  top_p: number;
  truncation: "disabled";
  usage: WireResponseUsage | null;
  user: string | null;
  its?: WireItsDiagnostics;
}

export function wireResponseUsage(usage: Usage): WireResponseUsage {
  return {
    input_tokens: usage.promptTokens,
    input_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    output_tokens: usage.completionTokens,
    // The engine does not count the reasoning's tokens apart from the answer's.
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** The request fields a response echoes, with OpenAI's defaults for those left out. */
export function echoedFields(
  body: ResponseRequest,
): Omit<
  WireResponse,
  "id" | "object" | "created_at" | "status" | "completed_at" | "incomplete_details" | "output" | "usage" | "its"
> {
  return {
    background: false,
    error: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: body.model,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: functionTools(body).map((t) => ({
      type: "function",
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict !== false,
    })),
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    user: body.user ?? null,
  };
}

export function responseStatus(finishReason: FinishReason | null): {
  status: ResponseStatus;
  incomplete_details: WireResponse["incomplete_details"];
} {
  return finishReason === "length"
    ? { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } }
    : { status: "completed", incomplete_details: null };
}

export interface ResponseBuilderOptions {
  /** Alternatives per token in output_text.logprobs; null: logprobs were not asked for. */
  topLogprobs: number | null;
  /** Called once with the finished response (completed or incomplete), to store it. */
  onFinished?: (response: WireResponse) => void;
}

/**
 * Builds one response, whole (complete) or as the stream of events: each item is opened when its
 * first output comes (reasoning, then the message, then each function call) and closed when the
 * next one opens or the generation finishes.
 */
export class ResponseBuilder implements ResponseShape {
  readonly id = newItemId("resp");
  readonly createdAt = unixSeconds();
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  /** The item now streaming (the last of `output`), or null. */
  private current: OutputItem | null = null;
  private finishReason: FinishReason | null = null;
  readonly sseFormat: SseEventFormat = {
    eventName: (data) => (data as { type: string }).type,
    done: false,
    errorEvent: (err) => this.errorEvent(err),
  };

  constructor(
    private readonly body: ResponseRequest,
    private readonly options: ResponseBuilderOptions,
  ) {}

  /** The response as it stands (`status` given), with the request's echoed fields. */
  snapshot(
    status: ResponseStatus,
    output: OutputItem[],
    usage: Usage | null,
    incomplete: WireResponse["incomplete_details"] = null,
    its?: WireItsDiagnostics,
  ): WireResponse {
    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status,
      completed_at: status === "completed" ? unixSeconds() : null,
      incomplete_details: incomplete,
      ...echoedFields(this.body),
      output,
      usage: usage === null ? null : wireResponseUsage(usage),
      ...(its ? { its } : {}),
    };
  }

  // ---- the whole response ----

  complete(choices: FinalChoice[], usage: Usage, its?: WireItsDiagnostics): WireResponse {
    const choice = choices[0]!;
    const done = choice.finishReason === "length" ? "incomplete" : "completed";
    const output: OutputItem[] = [];
    if (choice.reasoning !== null && choice.reasoning !== "") output.push(reasoningItem(choice.reasoning));
    if (choice.text !== "" || choice.toolCalls.length === 0)
      output.push(messageItem(done, choice.text, this.entries(choice.logprobs)));
    for (const call of choice.toolCalls) output.push(functionCallItem(done, call));
    const { status, incomplete_details } = responseStatus(choice.finishReason);
    return this.finished(this.snapshot(status, output, usage, incomplete_details, its));
  }

  // ---- the stream ----

  open(choiceIndex: number): unknown[] {
    if (choiceIndex > 0) return [];
    const response = this.snapshot("in_progress", [], null);
    return [this.event("response.created", { response }), this.event("response.in_progress", { response })];
  }

  prompt(): unknown[] {
    return [];
  }

  reasoning(_choiceIndex: number, text: string): unknown[] {
    const events: unknown[] = [];
    let item = this.current;
    if (item?.type !== "reasoning")
      item = this.openItem(events, reasoningItem(""), { type: "reasoning_text", text: "" });
    item.content[0]!.text += text;
    events.push(
      this.event("response.reasoning_text.delta", {
        item_id: item.id,
        output_index: this.index,
        content_index: 0,
        delta: text,
      }),
    );
    return events;
  }

  text(_choiceIndex: number, text: string, logprobs: PositionedTokenLogprob[] | null): unknown[] {
    const events: unknown[] = [];
    const item = this.current?.type === "message" ? this.current : this.openMessage(events);
    const entries = this.entries(logprobs);
    const part = item.content[0]!;
    part.text += text;
    part.logprobs.push(...entries);
    events.push(
      this.event("response.output_text.delta", {
        item_id: item.id,
        output_index: this.index,
        content_index: 0,
        delta: text,
        logprobs: entries,
      }),
    );
    return events;
  }

  toolCall(_choiceIndex: number, _call: number, id: string, name: string): unknown[] {
    const events = this.closeCurrent("completed");
    const item = this.add(functionCallItem("in_progress", { id, name, arguments: "" }));
    events.push(this.event("response.output_item.added", { output_index: this.index, item: { ...item } }));
    return events;
  }

  toolArguments(_choiceIndex: number, _call: number, text: string): unknown[] {
    const item = this.current;
    if (item?.type !== "function_call") return [];
    item.arguments += text;
    return [
      this.event("response.function_call_arguments.delta", { item_id: item.id, output_index: this.index, delta: text }),
    ];
  }

  finish(_choiceIndex: number, reason: FinishReason): unknown[] {
    this.finishReason = reason;
    const events: unknown[] = [];
    // An answer with no output at all is still one (empty) message, as the whole response has.
    if (!this.output.some((item) => item.type !== "reasoning")) this.openMessage(events);
    events.push(...this.closeCurrent(reason === "length" ? "incomplete" : "completed"));
    return events;
  }

  usage(usage: Usage, its?: WireItsDiagnostics): unknown {
    const { status, incomplete_details } = responseStatus(this.finishReason);
    const response = this.finished(this.snapshot(status, this.output, usage, incomplete_details, its));
    return this.event(status === "incomplete" ? "response.incomplete" : "response.completed", { response });
  }

  /** A failure mid-stream: OpenAI's `error` event, with the error object too so every client raises it. */
  private errorEvent(err: ApiError): unknown {
    const error = { message: err.message, type: err.type, param: err.param, code: err.code };
    return this.event("error", { code: err.code, message: err.message, param: err.param, error });
  }

  private finished(response: WireResponse): WireResponse {
    this.options.onFinished?.(response);
    return response;
  }

  private get index(): number {
    return this.output.length - 1;
  }

  private event(type: string, fields: Record<string, unknown>): Record<string, unknown> {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private add<T extends OutputItem>(item: T): T {
    this.output.push(item);
    this.current = item;
    return item;
  }

  private openMessage(events: unknown[]): MessageItem {
    return this.openItem(events, messageItem("in_progress", "", []), {
      type: "output_text",
      text: "",
      annotations: [],
      logprobs: [],
    });
  }

  /** Closes the current item and opens `item` with its first, empty content part `part`. */
  private openItem<T extends OutputItem & { id: string }>(events: unknown[], item: T, part: object): T {
    events.push(...this.closeCurrent("completed"));
    this.add(item);
    events.push(
      this.event("response.output_item.added", { output_index: this.index, item: { ...item, content: [] } }),
      this.event("response.content_part.added", { item_id: item.id, output_index: this.index, content_index: 0, part }),
    );
    return item;
  }

  /** The done events of the item now streaming, which gets its final status. */
  private closeCurrent(status: "completed" | "incomplete"): unknown[] {
    const item = this.current;
    if (item === null) return [];
    this.current = null;
    const at = { item_id: item.id, output_index: this.index };
    switch (item.type) {
      case "reasoning": {
        const part = item.content[0]!;
        return [
          this.event("response.reasoning_text.done", { ...at, content_index: 0, text: part.text }),
          this.event("response.content_part.done", { ...at, content_index: 0, part: { ...part } }),
          this.event("response.output_item.done", { output_index: this.index, item: structuredClone(item) }),
        ];
      }
      case "message": {
        item.status = status;
        const part = item.content[0]!;
        return [
          this.event("response.output_text.done", {
            ...at,
            content_index: 0,
            text: part.text,
            logprobs: part.logprobs,
          }),
          this.event("response.content_part.done", { ...at, content_index: 0, part: structuredClone(part) }),
          this.event("response.output_item.done", { output_index: this.index, item: structuredClone(item) }),
        ];
      }
      case "function_call":
        item.status = status;
        return [
          this.event("response.function_call_arguments.done", { ...at, name: item.name, arguments: item.arguments }),
          this.event("response.output_item.done", { output_index: this.index, item: { ...item } }),
        ];
    }
  }

  private entries(logprobs: PositionedTokenLogprob[] | null): ChatTokenLogprob[] {
    const top = this.options.topLogprobs;
    if (top === null || logprobs === null) return [];
    return chatLogprobEntries(tokenNames(logprobs, false), top);
  }
}

function messageItem(status: ItemStatus, text: string, logprobs: ChatTokenLogprob[]): MessageItem {
  return {
    type: "message",
    id: newItemId("msg"),
    status,
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [], logprobs }],
  };
}

function functionCallItem(status: ItemStatus, call: ToolCall): FunctionCallItem {
  return {
    type: "function_call",
    id: newItemId("fc"),
    status,
    arguments: call.arguments,
    call_id: call.id,
    name: call.name,
  };
}

function reasoningItem(text: string): ReasoningItem {
  return { type: "reasoning", id: newItemId("rs"), summary: [], content: [{ type: "reasoning_text", text }] };
}
