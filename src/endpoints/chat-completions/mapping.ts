// POST /v1/chat/completions, wire → engine: every rename of a request field into the engine's
// GenerateRequest, and every refusal that needs two fields at once (single-field ranges are the
// schema's). Also how this endpoint names the engine's fields when the engine refuses one.
//
// Refusals, by field: n/best_of (checkChoiceCount), response_format with tool_choice auto (here),
// functions (deprecated) with tools (here), response_format with function_call auto (here),
// repetition_penalty with presence/frequency_penalty (samplingParams), `its` with what it cannot
// combine with (itsPlan: n, best_of, stop, logprobs, top_logprobs, sampling cuts and penalties,
// tools or functions, response_format, reasoning_format), and from the engine: logit_bias ids
// outside the vocabulary, a prompt beyond the context, a schema it cannot enforce
// (chatErrorNames).
//
// The deprecated function calling maps onto the tool machinery: `functions` + `function_call` →
// ToolCalling (one call at most), assistant `function_call` → toolCalls, `function` messages →
// tool messages answering it (functionCallId pairs them).
import type { EngineField } from "../../engine/errors.js";
import type { ChatMessage, OutputConstraint, ToolCall, ToolCalling, ToolDefinition } from "../../engine/types.js";
import type { EngineErrorNames } from "../shared/engine-errors.js";
import { invalidRequest } from "../shared/errors.js";
import { resolveChatIts } from "../shared/its/code.js";
import { type ItsServerLimits, itsPlan } from "../shared/its/plan.js";
import { bestOfCount, checkChoiceCount, normalizeStop } from "../shared/request-fields.js";
import type { RunPlan } from "../shared/respond.js";
import { samplingParams } from "../shared/sampling-mapping.js";
import type { ChatCompletionRequest, ChatMessageParam, ContentPart } from "./schema.js";

export const RESPONSE_FORMAT_WITH_AUTO_TOOLS =
  "response_format cannot be combined with tools when tool_choice is 'auto': use tool_choice 'none' for a structured answer, or 'required' for calls.";
export const RESPONSE_FORMAT_WITH_AUTO_FUNCTIONS =
  "response_format cannot be combined with functions when function_call is 'auto': use function_call 'none' for a structured answer, or name a function.";
export const FUNCTIONS_WITH_TOOLS =
  "'functions' (deprecated) cannot be combined with 'tools': declare the functions as tools of type 'function' and use 'tool_choice'.";

/** What the route needs besides the engine requests: how to shape the answer. */
export interface ChatGeneration {
  plan: RunPlan;
  /** Alternatives per token in the logprobs, or null when logprobs are off. */
  topLogprobs: number | null;
  /** reasoning_format parsed/deepseek: `<think>` text goes to reasoning_content. */
  separateReasoning: boolean;
  /** The request has tools the model may call. */
  toolsOffered: boolean;
  /** The deprecated `functions`: a call is answered as `function_call`, not `tool_calls`. */
  legacyFunctions: boolean;
}

export function chatGeneration(parsed: ChatCompletionRequest, limits: ItsServerLimits): ChatGeneration {
  checkChoiceCount(1, parsed);
  // A PITA code opening the system prompt asks for scaling as the `its` object does.
  const scaling = resolveChatIts(parsed);
  const body = { ...parsed, messages: scaling.messages };
  const legacyFunctions = usesFunctions(body);
  const tools = toolCalling(body);
  const separateReasoning = body.reasoning_format === "parsed" || body.reasoning_format === "deepseek";
  const constraint = outputConstraint(body);
  const its = scaling.its
    ? itsPlan(scaling.its, body, limits, [
        [tools !== undefined, legacyFunctions ? "functions" : "tools"],
        [constraint !== undefined, "response_format"],
        [separateReasoning, "reasoning_format"],
      ])
    : undefined;
  const sampling = samplingParams(body);
  // The output grammar and a call grammar that switches on mid-answer would compete.
  if (constraint !== undefined && tools?.toolChoice === "auto")
    throw invalidRequest(
      legacyFunctions ? RESPONSE_FORMAT_WITH_AUTO_FUNCTIONS : RESPONSE_FORMAT_WITH_AUTO_TOOLS,
      "response_format",
      "invalid_value",
    );
  const topLogprobs = chatTopLogprobs(body);
  const request: RunPlan["requests"][number] = {
    model: body.model,
    prompt: {
      kind: "chat",
      messages: body.messages.map(engineMessage),
      ...(tools ? { tools } : {}),
      separateReasoning,
    },
    maxTokens: chatMaxTokens(body),
    stop: normalizeStop(body.stop),
    sampling,
    logprobs: topLogprobs ?? undefined,
    outputConstraint: constraint,
  };
  return {
    plan: {
      model: body.model,
      requests: [request],
      n: its ? its.choices : (body.n ?? 1),
      bestOf: bestOfCount(body),
      stream: body.stream === true,
      ...(its ? { its } : {}),
      errorNames: legacyFunctions ? FUNCTIONS_ERROR_NAMES : CHAT_ERROR_NAMES,
    },
    topLogprobs,
    separateReasoning,
    toolsOffered: tools !== undefined,
    legacyFunctions,
  };
}

/** The engine's fields under the names a chat request gave them. */
export const CHAT_ERROR_NAMES: EngineErrorNames = chatErrorNames("tools");
/** The same, for a request that declared its functions with the deprecated `functions`. */
export const FUNCTIONS_ERROR_NAMES: EngineErrorNames = chatErrorNames("functions");

function chatErrorNames(declaredIn: "tools" | "functions"): EngineErrorNames {
  return {
    param(field: EngineField): string | null {
      const tool = /^tools\[(\d+)\]\.parameters$/.exec(field);
      if (tool)
        return declaredIn === "tools" ? `tools[${tool[1]}].function.parameters` : `functions[${tool[1]}].parameters`;
      switch (field) {
        case "prompt":
        case "prompt.messages":
          return "messages";
        case "sampling.logitBias":
          return "logit_bias";
        case "outputConstraint.schema":
          return "response_format.json_schema.schema";
        case "tools":
          return declaredIn;
        case "model":
          return "model";
        default:
          return null;
      }
    },
  };
}

type CallingFields = Pick<
  ChatCompletionRequest,
  "tools" | "tool_choice" | "parallel_tool_calls" | "functions" | "function_call"
>;

/** The request declares its functions with the deprecated `functions` (refused with `tools`). */
export function usesFunctions(body: Pick<ChatCompletionRequest, "tools" | "functions">): boolean {
  if (body.functions == null || body.functions.length === 0) return false;
  if (body.tools != null && body.tools.length > 0)
    throw invalidRequest(FUNCTIONS_WITH_TOOLS, "functions", "invalid_value");
  return true;
}

/**
 * tools + tool_choice (default auto with tools, as OpenAI's) → the engine's; none: no tools at all.
 * The deprecated functions + function_call the same way (default auto with functions), with at
 * most one call: that API answers with a single function_call.
 */
export function toolCalling(body: CallingFields): ToolCalling | undefined {
  if (usesFunctions(body)) {
    const choice = body.function_call ?? "auto";
    if (choice === "none") return undefined;
    return {
      tools: (body.functions ?? []).map(toolDefinition),
      toolChoice: typeof choice === "string" ? choice : { name: choice.name },
      parallel: false,
    };
  }
  const tools = toolDefinitions(body.tools);
  const choice = body.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return undefined;
  return {
    tools,
    // allowed_tools and custom choices are refused by CHAT_UNSUPPORTED before this point.
    toolChoice:
      typeof choice === "string" ? choice : { name: (choice as { function: { name: string } }).function.name },
    parallel: body.parallel_tool_calls !== false,
  };
}

/** response_format → the grammar the whole output must follow; text: none. */
export function outputConstraint(body: Pick<ChatCompletionRequest, "response_format">): OutputConstraint | undefined {
  const format = body.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json_object" };
  // No schema: any JSON value satisfies it, as with an empty JSON Schema.
  return { kind: "json_schema", schema: format.json_schema.schema ?? {}, strict: format.json_schema.strict === true };
}

/**
 * A chat message as the engine takes it. `index` and `messages` (Array.prototype.map's arguments)
 * pair a deprecated `function` message with the `function_call` of the assistant message before
 * it: both get the call id functionCallId(index of that assistant message). A function message
 * without one (the chat schema refuses it; /tokenize does not check) is a tool message answering
 * no call.
 */
export function engineMessage(
  m: ChatMessageParam,
  index = 0,
  messages: readonly ChatMessageParam[] = [m],
): ChatMessage {
  switch (m.role) {
    case "assistant": {
      const toolCalls: ToolCall[] = [];
      for (const c of m.tool_calls ?? [])
        if (c.type === "function") toolCalls.push({ id: c.id, name: c.function.name, arguments: c.function.arguments });
      if (m.function_call != null)
        toolCalls.push({ id: functionCallId(index), name: m.function_call.name, arguments: m.function_call.arguments });
      return { role: "assistant", content: flattenContent(m.content), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
    }
    case "tool":
      return { role: "tool", content: flattenContent(m.content), toolCallId: m.tool_call_id };
    case "function": {
      const answered = answeredFunctionCall(messages, index);
      return { role: "tool", content: m.content ?? "", ...(answered === null ? {} : { toolCallId: answered }) };
    }
    default:
      return { role: m.role, content: flattenContent(m.content) };
  }
}

/**
 * The id lavash gives the `function_call` of the assistant message at `index`: the deprecated API
 * has none, and templates that render ids pair a call with its result by it. Derived from the
 * position so the same history renders the same prompt (prefix caching) on every turn.
 */
export function functionCallId(index: number): string {
  return `call_function_${index}`;
}

/** The call id a `function` message at `index` answers: the nearest assistant turn's function_call. */
function answeredFunctionCall(messages: readonly ChatMessageParam[], index: number): string | null {
  for (let i = index - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role === "assistant") return m.function_call != null ? functionCallId(i) : null;
    if (m.role !== "tool" && m.role !== "function") return null;
  }
  return null;
}

/** The request's function tools as the engine takes them (other kinds are refused earlier). */
export function toolDefinitions(tools: ChatCompletionRequest["tools"]): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  for (const t of tools ?? []) if (t.type === "function") out.push(toolDefinition(t.function));
  return out;
}

/** One function (of a tool, or of the deprecated `functions`) as the engine takes it. */
function toolDefinition(f: NonNullable<ChatCompletionRequest["functions"]>[number]): ToolDefinition {
  return {
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    ...(f.parameters ? { parameters: f.parameters } : {}),
    strict: f.strict === true,
  };
}

/**
 * How many alternatives to report per token, or null when logprobs are off. With logprobs on,
 * an absent top_logprobs means 0: the sampled token's own logprob and no alternatives.
 */
export function chatTopLogprobs(req: Pick<ChatCompletionRequest, "logprobs" | "top_logprobs">): number | null {
  if (req.logprobs !== true) return null;
  return req.top_logprobs ?? 0;
}

/**
 * The generation limit: max_completion_tokens wins over the deprecated max_tokens when both are
 * given (OpenAI's own preference); null means "until the context is full".
 */
export function chatMaxTokens(req: Pick<ChatCompletionRequest, "max_tokens" | "max_completion_tokens">): number | null {
  return req.max_completion_tokens ?? req.max_tokens ?? null;
}

/**
 * A message's content as plain text. Parts are joined with "\n" (as vLLM does) so adjacent parts
 * do not run into each other; refusal parts are what the assistant said, so they count as text.
 */
export function flattenContent(content: string | readonly ContentPart[] | null | undefined): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type === "text") texts.push(part.text);
    else if (part.type === "refusal") texts.push(part.refusal);
  }
  return texts.join("\n");
}
