// POST /v1/chat/completions request: the full OpenAI parameter surface plus vLLM's sampling
// extensions (see EXTENSION_PARAMETERS), with what lavash cannot honour yet rejected through
// CHAT_UNSUPPORTED.
import { z } from "zod";
import {
  checkBestOf,
  checkStreamOptions,
  logitBiasSchema,
  nSchema,
  penaltySchema,
  samplingExtensionShape,
  seedSchema,
  stopSchema,
  streamOptionsSchema,
  streamSchema,
  temperatureSchema,
  topPSchema,
} from "../shared/request-fields.js";
import { itsSchema } from "../shared/its/schema.js";
import { never, onlyValues, rejectUnsupported, when, type UnsupportedRule } from "../shared/unsupported.js";
import { parseWith } from "../shared/validation.js";

// ---- content parts ----

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const refusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });

/**
 * A part type OpenAI defines but a text model cannot read. Declared (instead of left unknown)
 * so the client learns why it was refused, not just that the value is invalid.
 */
function nonTextPart<T extends string>(type: T) {
  return z.object({ type: z.literal(type) }).superRefine((_value, ctx) => {
    ctx.addIssue({
      code: "custom",
      message: `lavash serves text models: content part type '${type}' is not supported`,
      path: ["type"],
      params: { code: "unsupported_content_part" },
    });
  });
}

const userPart = z.discriminatedUnion("type", [
  textPart,
  nonTextPart("image_url"),
  nonTextPart("input_audio"),
  nonTextPart("file"),
]);
const assistantPart = z.discriminatedUnion("type", [textPart, refusalPart]);

const textContent = z.union([z.string(), z.array(textPart).min(1)]);
const userContent = z.union([z.string(), z.array(userPart).min(1)]);
const assistantContent = z.union([z.string(), z.array(assistantPart).min(1)]);

export type TextContentPart = z.output<typeof textPart>;
export type RefusalContentPart = z.output<typeof refusalPart>;
/** Any part a parsed message can hold (non-text parts are typed but never pass validation). */
export type ContentPart = z.output<typeof userPart> | z.output<typeof assistantPart>;

// ---- messages (unknown fields are stripped: SDK helpers echo back `parsed`, `annotations`, ...) ----

const nameSchema = z.string().nullish();

const toolCallSchema = z.discriminatedUnion("type", [
  z.object({
    id: z.string(),
    type: z.literal("function"),
    function: z.object({ name: z.string(), arguments: z.string() }),
  }),
  z.object({
    id: z.string(),
    type: z.literal("custom"),
    custom: z.object({ name: z.string(), input: z.string() }),
  }),
]);

const systemMessage = z.object({ role: z.literal("system"), content: textContent, name: nameSchema });
const developerMessage = z.object({ role: z.literal("developer"), content: textContent, name: nameSchema });
const userMessage = z.object({ role: z.literal("user"), content: userContent, name: nameSchema });
const assistantMessage = z
  .object({
    role: z.literal("assistant"),
    content: assistantContent.nullish(),
    refusal: z.string().nullish(),
    name: nameSchema,
    tool_calls: z.array(toolCallSchema).nullish(),
    function_call: z.object({ name: z.string(), arguments: z.string() }).nullish(),
    audio: z.object({ id: z.string() }).nullish(),
  })
  .superRefine((m, ctx) => {
    // The spec: content is required unless the turn is a tool/function call (or a refusal).
    const hasCall = (m.tool_calls != null && m.tool_calls.length > 0) || m.function_call != null;
    if (m.content == null && !hasCall && m.refusal == null && m.audio == null) {
      ctx.addIssue({ code: "invalid_type", expected: "string", path: ["content"], input: m.content });
    }
  });
const toolMessage = z.object({ role: z.literal("tool"), content: textContent, tool_call_id: z.string() });
const functionMessage = z.object({ role: z.literal("function"), content: z.string().nullable(), name: z.string() });

const messageSchema = z.discriminatedUnion("role", [
  developerMessage,
  systemMessage,
  userMessage,
  assistantMessage,
  toolMessage,
  functionMessage,
]);

export type ChatMessageParam = z.output<typeof messageSchema>;

// ---- tools, response formats ----

const functionName = z
  .string()
  .max(64)
  .regex(/^[a-zA-Z0-9_-]+$/);
const jsonObject = z.record(z.string(), z.unknown());

const functionDefinition = z.object({
  name: functionName,
  description: z.string().nullish(),
  parameters: jsonObject.nullish(),
  strict: z.boolean().nullish(),
});

const toolSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("function"), function: functionDefinition }),
  z.object({
    type: z.literal("custom"),
    custom: z.object({ name: z.string(), description: z.string().nullish(), format: jsonObject.nullish() }),
  }),
]);

const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }),
    z.object({ type: z.literal("custom"), custom: z.object({ name: z.string() }) }),
    z.object({
      type: z.literal("allowed_tools"),
      allowed_tools: z.object({ mode: z.enum(["auto", "required"]), tools: z.array(jsonObject) }),
    }),
  ]),
]);

const responseFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: functionName,
      description: z.string().nullish(),
      schema: jsonObject.nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

// ---- the request ----

export const chatCompletionRequestSchema = z
  .strictObject({
    model: z.string(),
    messages: z.array(messageSchema).min(1),

    temperature: temperatureSchema,
    top_p: topPSchema,
    n: nSchema,
    stream: streamSchema,
    stream_options: streamOptionsSchema,
    stop: stopSchema,
    max_tokens: z.int().min(1).nullish(),
    max_completion_tokens: z.int().min(1).nullish(),
    seed: seedSchema,
    presence_penalty: penaltySchema,
    frequency_penalty: penaltySchema,
    logit_bias: logitBiasSchema,
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(20).nullish(),

    // Extensions (EXTENSION_PARAMETERS): vLLM's names and ranges.
    ...samplingExtensionShape,
    best_of: z.int().min(1).max(20).nullish(),
    reasoning_format: z.enum(["none", "parsed", "deepseek"]).nullish(),
    // lavash's own extension: inference-time scaling (a PITA code in the system prompt works too).
    its: itsSchema.nullish(),

    response_format: responseFormatSchema.nullish(),
    tools: z.array(toolSchema).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    functions: z.array(functionDefinition).min(1).max(128).nullish(),
    function_call: z.union([z.enum(["none", "auto"]), z.object({ name: z.string() })]).nullish(),

    modalities: z.array(z.enum(["text", "audio"])).nullish(),
    audio: z
      .object({
        voice: z.union([z.string(), z.object({ id: z.string() })]),
        format: z.enum(["wav", "aac", "mp3", "flac", "opus", "pcm16"]),
      })
      .nullish(),
    prediction: z.object({ type: z.literal("content"), content: textContent }).nullish(),
    reasoning_effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"]).nullish(),
    verbosity: z.enum(["low", "medium", "high"]).nullish(),
    web_search_options: z
      .object({
        search_context_size: z.enum(["low", "medium", "high"]).nullish(),
        user_location: jsonObject.nullish(),
      })
      .nullish(),

    service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
    store: z.boolean().nullish(),
    metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
    user: z.string().nullish(),
    // Caching and abuse-tracking hints: meaningful to OpenAI, harmless to ignore here.
    safety_identifier: z.string().nullish(),
    prompt_cache_key: z.string().nullish(),
    prompt_cache_retention: z.enum(["in-memory", "24h"]).nullish(),
  })
  .superRefine((req, ctx) => {
    checkStreamOptions(req, ctx);
    checkBestOf(req, ctx);
    checkTools(req, ctx);
    checkFunctions(req, ctx);
    checkToolTurns(req.messages, ctx);
    // top_logprobs: 0 asks for nothing, so it is let through without logprobs (lenient clients
    // send it as a default); any positive count needs logprobs on, as OpenAI requires.
    if (req.top_logprobs != null && req.top_logprobs > 0 && req.logprobs !== true) {
      ctx.addIssue({
        code: "custom",
        message: "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is specified.",
        path: ["top_logprobs"],
        params: { code: "invalid_value" },
      });
    }
  });

export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;

type ToolFields = Pick<z.output<typeof chatCompletionRequestSchema>, "tools" | "tool_choice" | "parallel_tool_calls">;

/** OpenAI's cross-field rules for tools (its messages). */
function checkTools(req: ToolFields, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string): void => {
    ctx.addIssue({ code: "custom", message, path: [path], params: { code: "invalid_value" } });
  };
  const tools = req.tools ?? [];
  // Without tools, parallel_tool_calls and tool_choice none/auto change nothing and SDKs and
  // frameworks send them as defaults: accepted (OpenAI refuses them). A choice that needs a tool
  // cannot be honoured.
  const choice = req.tool_choice;
  if (choice != null && choice !== "none" && choice !== "auto" && tools.length === 0)
    issue("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
  if (choice != null && typeof choice === "object" && choice.type === "function" && tools.length > 0) {
    const name = choice.function.name;
    if (!tools.some((t) => t.type === "function" && t.function.name === name))
      issue("tool_choice", `Invalid value for 'tool_choice': function '${name}' is not among the 'tools'.`);
  }
  const seen = new Set<string>();
  for (const t of tools) {
    const name = t.type === "function" ? t.function.name : t.custom.name;
    if (seen.has(name)) issue("tools", `Invalid value for 'tools': the function name '${name}' is used twice.`);
    seen.add(name);
  }
}

type FunctionFields = Pick<z.output<typeof chatCompletionRequestSchema>, "functions" | "function_call">;

/**
 * The deprecated `functions` + `function_call`, as checkTools: a named function_call needs
 * `functions` and must name one of them; names are unique. Without functions, function_call
 * "none" and "auto" change nothing and are accepted (as tool_choice none/auto without tools).
 * `functions` with `tools` is mapping.ts's refusal.
 */
function checkFunctions(req: FunctionFields, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string): void => {
    ctx.addIssue({ code: "custom", message, path: [path], params: { code: "invalid_value" } });
  };
  const functions = req.functions ?? [];
  const call = req.function_call;
  if (call != null && typeof call === "object") {
    if (functions.length === 0)
      issue(
        "function_call",
        "Invalid value for 'function_call': 'function_call' is only allowed when 'functions' are specified.",
      );
    else if (!functions.some((f) => f.name === call.name))
      issue(
        "function_call",
        `Invalid value for 'function_call': function '${call.name}' is not among the 'functions'.`,
      );
  }
  const seen = new Set<string>();
  for (const f of functions) {
    if (seen.has(f.name))
      issue("functions", `Invalid value for 'functions': the function name '${f.name}' is used twice.`);
    seen.add(f.name);
  }
}

/**
 * A `tool` message answers a call: it must follow an assistant message with `tool_calls` (directly,
 * or after the other calls' answers) and name one of those calls. OpenAI refuses anything else
 * with these words (typo included: clients and people search for them); a template would
 * otherwise render a result for a call the model never made. A deprecated `function` message
 * answers the `function_call` of the assistant message before it in the same way (mapping.ts
 * pairs them with one call id).
 */
function checkToolTurns(messages: readonly ChatMessageParam[], ctx: z.RefinementCtx): void {
  const problem = toolTurnProblem(messages);
  if (problem !== null)
    ctx.addIssue({
      code: "custom",
      message: problem.message,
      path: ["messages", ...problem.path],
      params: { code: "invalid_value" },
    });
}

/** The first turn that answers no call of the message before it (checkToolTurns), or null. */
function toolTurnProblem(messages: readonly ChatMessageParam[]): { path: (string | number)[]; message: string } | null {
  let calls: Set<string> | null = null;
  let functionCall = false;
  for (const [i, m] of messages.entries()) {
    if (m.role === "assistant") {
      calls = m.tool_calls != null && m.tool_calls.length > 0 ? new Set(m.tool_calls.map((c) => c.id)) : null;
      functionCall = m.function_call != null;
    } else if (m.role === "function") {
      if (!functionCall)
        return {
          path: [i, "role"],
          message:
            "Invalid parameter: messages with role 'function' must be a response to a preceding message with 'function_call'.",
        };
    } else if (m.role !== "tool") {
      calls = null;
      functionCall = false;
    } else if (calls === null) {
      return {
        path: [i, "role"],
        message:
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
      };
    } else if (!calls.has(m.tool_call_id)) {
      return {
        path: [i, "tool_call_id"],
        message: `Invalid parameter: 'tool_call_id' of '${m.tool_call_id}' not found in 'tool_calls' of previous message.`,
      };
    }
  }
  return null;
}

/** Custom tool calls in the history: lavash calls (and renders) function tools only. */
function hasNoCustomCalls(messages: unknown): boolean {
  if (!Array.isArray(messages)) return true;
  return messages.every(
    (m: ChatMessageParam) => m.role !== "assistant" || (m.tool_calls ?? []).every((c) => c.type === "function"),
  );
}

function onlyFunctionTools(value: unknown): boolean {
  return Array.isArray(value) && value.every((t: { type?: unknown }) => t.type === "function");
}

/**
 * What chat requests may carry only as no-ops today. Delete a row when lavash honours the
 * parameter. Parameters absent here (sampling, penalties, logit_bias, n, best_of, logprobs, stop,
 * seed, max_tokens, user, metadata, prompt_cache_key, ...) are either honoured or have no effect
 * on the generated text.
 */
export const CHAT_UNSUPPORTED: readonly UnsupportedRule[] = [
  {
    name: "messages",
    isNoop: hasNoCustomCalls,
    message: "lavash does not support custom tool calls: only calls of type 'function' are supported in 'tool_calls'.",
  },
  when("tools", onlyFunctionTools, "only tools of type 'function' are supported"),
  when(
    "tool_choice",
    (v) =>
      typeof v === "string" || (typeof v === "object" && v !== null && (v as { type?: unknown }).type === "function"),
    "allowed_tools and custom tool choices are not supported",
  ),
  when("modalities", (v) => Array.isArray(v) && v.length === 1 && v[0] === "text", 'only ["text"] is accepted'),
  never("audio"),
  never("prediction"),
  never("reasoning_effort"),
  onlyValues("verbosity", ["medium"]),
  never("web_search_options"),
  onlyValues("service_tier", ["auto", "default"]),
  onlyValues("store", [false]),
];

export interface ParseOptions {
  /** Defaults to CHAT_UNSUPPORTED; pass [] to validate only. */
  unsupported?: readonly UnsupportedRule[];
}

/** Validates a chat completion request; throws ApiError (400) for anything OpenAI or lavash rejects. */
export function parseChatCompletionRequest(body: unknown, options: ParseOptions = {}): ChatCompletionRequest {
  const req = parseWith(chatCompletionRequestSchema, body);
  rejectUnsupported(req, options.unsupported ?? CHAT_UNSUPPORTED);
  return req;
}
