// POST /v1/responses, wire → engine: every rename of a request field into the engine's
// GenerateRequest, and every refusal that needs two fields at once (single-field rules are the
// schema's). Also how this endpoint names the engine's fields when the engine refuses one.
//
// Refusals, by field: text.format with tool_choice auto (as chat's response_format), `its` with
// tools, text.format or logprobs (itsPlan), repetition_penalty with penalties (samplingParams),
// an empty conversation (input), and from the engine: a prompt beyond the context, a schema it
// cannot enforce (RESPONSES_ERROR_NAMES).
import type { EngineField } from "../../engine/errors.js";
import type { OutputConstraint, ToolCalling, ToolDefinition } from "../../engine/types.js";
import type { EngineErrorNames } from "../shared/engine-errors.js";
import { invalidRequest } from "../shared/errors.js";
import { type ItsServerLimits, itsPlan } from "../shared/its/plan.js";
import type { RunPlan } from "../shared/respond.js";
import { samplingParams } from "../shared/sampling-mapping.js";
import { engineMessages, type StoredItem } from "./input-items.js";
import type { FunctionToolParam, ResponseRequest } from "./schema.js";

export const TEXT_FORMAT_WITH_AUTO_TOOLS =
  "text.format cannot be combined with tools when tool_choice is 'auto': use tool_choice 'none' for a structured answer, or 'required' for calls.";

export const EMPTY_CONVERSATION =
  "Missing required parameter: 'input' (the conversation has no message: give 'input', or 'previous_response_id').";

export const LOGPROBS_INCLUDE = "message.output_text.logprobs";

export interface ResponsesGeneration {
  plan: RunPlan;
  /** Alternatives per token in output_text.logprobs, or null when they were not asked for. */
  topLogprobs: number | null;
  /** `<think>` text comes back as reasoning items. */
  separateReasoning: boolean;
}

/**
 * `history`: the previous_response_id chain's items (oldest first); `input`: this request's
 * items. The instructions, when given, open the conversation as a system message.
 */
export function responsesGeneration(
  body: ResponseRequest,
  history: readonly StoredItem[],
  input: readonly StoredItem[],
  limits: ItsServerLimits,
): ResponsesGeneration {
  const messages = engineMessages([...history, ...input], history.length);
  if (messages.length === 0) throw invalidRequest(EMPTY_CONVERSATION, "input", "missing_required_parameter");
  if (body.instructions != null && body.instructions !== "")
    messages.unshift({ role: "system", content: body.instructions });
  const tools = toolCalling(body);
  const constraint = outputConstraint(body);
  const topLogprobs = body.include?.includes(LOGPROBS_INCLUDE) ? (body.top_logprobs ?? 0) : null;
  const its = body.its
    ? itsPlan(body.its, { ...body, logprobs: topLogprobs !== null }, limits, [
        [tools !== undefined, "tools"],
        [constraint !== undefined, "text.format"],
      ])
    : undefined;
  // A scaling run returns whole answers: no reasoning split (as chat refuses reasoning_format).
  const separateReasoning = its === undefined;
  const sampling = samplingParams(body);
  // The output grammar and a call grammar that switches on mid-answer would compete.
  if (constraint !== undefined && tools?.toolChoice === "auto")
    throw invalidRequest(TEXT_FORMAT_WITH_AUTO_TOOLS, "text.format", "invalid_value");
  const request: RunPlan["requests"][number] = {
    model: body.model,
    prompt: { kind: "chat", messages, ...(tools ? { tools } : {}), separateReasoning },
    maxTokens: body.max_output_tokens ?? null,
    stop: [],
    sampling,
    logprobs: topLogprobs ?? undefined,
    outputConstraint: constraint,
  };
  return {
    plan: {
      model: body.model,
      requests: [request],
      n: its ? its.choices : 1,
      bestOf: null,
      stream: body.stream === true,
      ...(its ? { its } : {}),
      errorNames: RESPONSES_ERROR_NAMES,
    },
    topLogprobs,
    separateReasoning,
  };
}

/** The engine's fields under the names a responses request gave them. */
export const RESPONSES_ERROR_NAMES: EngineErrorNames = {
  param(field: EngineField): string | null {
    const tool = /^tools\[(\d+)\]\.parameters$/.exec(field);
    if (tool) return `tools[${tool[1]}].parameters`;
    switch (field) {
      case "prompt":
      case "prompt.messages":
        return "input";
      case "outputConstraint.schema":
        return "text.format.schema";
      case "tools":
        return "tools";
      case "model":
        return "model";
      default:
        return null;
    }
  },
};

/** The function tools of a request (the other kinds are refused by the schema). */
export function functionTools(body: Pick<ResponseRequest, "tools">): FunctionToolParam[] {
  return (body.tools ?? []).filter((t): t is FunctionToolParam => t.type === "function");
}

/** tools + tool_choice (default auto) → the engine's; none: no tools at all. Strict by default. */
export function toolCalling(
  body: Pick<ResponseRequest, "tools" | "tool_choice" | "parallel_tool_calls">,
): ToolCalling | undefined {
  const tools: ToolDefinition[] = functionTools(body).map((t) => ({
    name: t.name,
    ...(t.description ? { description: t.description } : {}),
    ...(t.parameters ? { parameters: t.parameters } : {}),
    // The Responses API's function tools are strict unless `strict: false` says otherwise.
    strict: t.strict !== false,
  }));
  const choice = body.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return undefined;
  return {
    tools,
    // Other typed choices are refused by RESPONSES_UNSUPPORTED before this point.
    toolChoice: typeof choice === "string" ? choice : { name: (choice as { name: string }).name },
    parallel: body.parallel_tool_calls !== false,
  };
}

/** text.format → the grammar the whole output must follow; text: none. */
export function outputConstraint(body: Pick<ResponseRequest, "text">): OutputConstraint | undefined {
  const format = body.text?.format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json_object" };
  return { kind: "json_schema", schema: format.schema, strict: format.strict === true };
}
