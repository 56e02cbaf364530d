// POST /v1/chat/completions, wire → engine: every rename of a request field into the engine's
// GenerateRequest, and every refusal that needs two fields at once (single-field ranges are the
// schema's). Also how this endpoint names the engine's fields when the engine refuses one.
//
// Refusals, by field: n/best_of (checkChoiceCount), response_format with tool_choice auto (here),
// repetition_penalty with presence/frequency_penalty (samplingParams), `its` with what it cannot
// combine with (itsPlan: n, best_of, stop, logprobs, top_logprobs, sampling cuts and penalties,
// tools, response_format, reasoning_format), and from the engine: logit_bias ids outside the
// vocabulary, a prompt beyond the context, a schema it cannot enforce (CHAT_ERROR_NAMES).
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

/** What the route needs besides the engine requests: how to shape the answer. */
export interface ChatGeneration {
  plan: RunPlan;
  /** Alternatives per token in the logprobs, or null when logprobs are off. */
  topLogprobs: number | null;
  /** reasoning_format parsed/deepseek: `<think>` text goes to reasoning_content. */
  separateReasoning: boolean;
  /** The request has tools the model may call. */
  toolsOffered: boolean;
}

export function chatGeneration(parsed: ChatCompletionRequest, limits: ItsServerLimits): ChatGeneration {
  checkChoiceCount(1, parsed);
  // A PITA code opening the system prompt asks for scaling as the `its` object does.
  const scaling = resolveChatIts(parsed);
  const body = { ...parsed, messages: scaling.messages };
  const tools = toolCalling(body);
  const separateReasoning = body.reasoning_format === "parsed" || body.reasoning_format === "deepseek";
  const constraint = outputConstraint(body);
  const its = scaling.its
    ? itsPlan(scaling.its, body, limits, [
        [tools !== undefined, "tools"],
        [constraint !== undefined, "response_format"],
        [separateReasoning, "reasoning_format"],
      ])
    : undefined;
  const sampling = samplingParams(body);
  // The output grammar and a call grammar that switches on mid-answer would compete.
  if (constraint !== undefined && tools?.toolChoice === "auto")
    throw invalidRequest(RESPONSE_FORMAT_WITH_AUTO_TOOLS, "response_format", "invalid_value");
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
      errorNames: CHAT_ERROR_NAMES,
    },
    topLogprobs,
    separateReasoning,
    toolsOffered: tools !== undefined,
  };
}

/** The engine's fields under the names a chat request gave them. */
export const CHAT_ERROR_NAMES: EngineErrorNames = {
  param(field: EngineField): string | null {
    const tool = /^tools\[(\d+)\]\.parameters$/.exec(field);
    if (tool) return `tools[${tool[1]}].function.parameters`;
    switch (field) {
      case "prompt":
      case "prompt.messages":
        return "messages";
      case "sampling.logitBias":
        return "logit_bias";
      case "outputConstraint.schema":
        return "response_format.json_schema.schema";
      case "tools":
        return "tools";
      case "model":
        return "model";
      default:
        return null;
    }
  },
};

/** tools + tool_choice (default auto with tools, as OpenAI's) → the engine's; none: no tools at all. */
export function toolCalling(
  body: Pick<ChatCompletionRequest, "tools" | "tool_choice" | "parallel_tool_calls">,
): ToolCalling | undefined {
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

/** A chat message as the engine takes it. */
export function engineMessage(m: ChatMessageParam): ChatMessage {
  switch (m.role) {
    case "assistant": {
      const toolCalls: ToolCall[] = [];
      for (const c of m.tool_calls ?? [])
        if (c.type === "function") toolCalls.push({ id: c.id, name: c.function.name, arguments: c.function.arguments });
      return { role: "assistant", content: flattenContent(m.content), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
    }
    case "tool":
      return { role: "tool", content: flattenContent(m.content), toolCallId: m.tool_call_id };
    case "function":
      // Refused by CHAT_UNSUPPORTED before this point.
      throw new Error("internal: function message reached the engine mapping");
    default:
      return { role: m.role, content: flattenContent(m.content) };
  }
}

/** The request's function tools as the engine takes them (other kinds are refused earlier). */
export function toolDefinitions(tools: ChatCompletionRequest["tools"]): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  for (const t of tools ?? [])
    if (t.type === "function")
      out.push({
        name: t.function.name,
        ...(t.function.description ? { description: t.function.description } : {}),
        ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
        strict: t.function.strict === true,
      });
  return out;
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
