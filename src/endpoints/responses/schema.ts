// POST /v1/responses request (OpenAI's Responses API): `input` as a string or a list of items,
// function tools, text.format, storage fields, the sampling fields and lavash's extensions chat
// has. What lavash cannot honour is refused through RESPONSES_UNSUPPORTED (or, for one kind of
// item, tool or content part, by the schema with a message naming it). The wire reference is the
// official client's types (openai/resources/responses/responses.d.ts).
import { z } from "zod";
import { itsSchema } from "../shared/its/schema.js";
import { samplingExtensionShape, seedSchema, temperatureSchema, topPSchema } from "../shared/request-fields.js";
import { isEmpty, never, onlyValues, rejectUnsupported, when, type UnsupportedRule } from "../shared/unsupported.js";
import { parseWith } from "../shared/validation.js";

const jsonObject = z.record(z.string(), z.unknown());

/** Types OpenAI defines that lavash cannot serve: declared so the 400 says why. */
function refusedType<const T extends readonly [string, ...string[]]>(types: T, what: string, reason: string) {
  return z.object({ type: z.enum(types) }).superRefine((value, ctx) => {
    ctx.addIssue({
      code: "custom",
      message: `lavash does not support ${what} '${value.type}': ${reason}.`,
      path: ["type"],
      params: { code: "unsupported_parameter" },
    });
  });
}

// ---- content parts ----

const inputTextPart = z.object({ type: z.literal("input_text"), text: z.string() });
// Output parts come back in a conversation's history (an earlier response's message items).
const outputTextPart = z.object({
  type: z.literal("output_text"),
  text: z.string(),
  annotations: z.array(z.unknown()).nullish(),
  logprobs: z.array(z.unknown()).nullish(),
});
const refusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });
const TEXT_MODEL = "lavash serves text models";

const contentPart = z.discriminatedUnion("type", [
  inputTextPart,
  outputTextPart,
  refusalPart,
  refusedType(["input_image", "input_file", "input_audio"], "content part type", TEXT_MODEL),
]);

export type ContentPart = z.output<typeof contentPart>;

// ---- input items (unknown fields are stripped: clients send back whole output items) ----

const itemStatus = z.enum(["in_progress", "completed", "incomplete"]).nullish();

/** EasyInputMessage, a typed input message, or an earlier output message (id, status, output_text). */
const messageItem = z.object({
  type: z.literal("message"),
  id: z.string().nullish(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(contentPart)]),
  status: itemStatus,
  phase: z.enum(["commentary", "final_answer"]).nullish(),
});

const functionCallItem = z.object({
  type: z.literal("function_call"),
  id: z.string().nullish(),
  call_id: z.string().min(1),
  name: z.string(),
  arguments: z.string(),
  status: itemStatus,
});

const functionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  id: z.string().nullish(),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(contentPart)]),
  status: itemStatus,
});

const reasoningItem = z.object({
  type: z.literal("reasoning"),
  id: z.string().nullish(),
  summary: z.array(z.object({ type: z.literal("summary_text"), text: z.string() })).nullish(),
  content: z.array(z.object({ type: z.literal("reasoning_text"), text: z.string() })).nullish(),
  encrypted_content: z.string().nullish(),
  status: itemStatus,
});

const NO_TOOL = "only function tools are supported, so only function_call items and their outputs";

const inputItem = z.preprocess(
  // EasyInputMessage may leave `type` out.
  (v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && !("type" in v) && "role" in v
      ? { ...v, type: "message" }
      : v,
  z.discriminatedUnion("type", [
    messageItem,
    functionCallItem,
    functionCallOutputItem,
    reasoningItem,
    refusedType(
      ["item_reference"],
      "input item type",
      "send the item itself (or continue with previous_response_id, which brings the stored items)",
    ),
    refusedType(
      [
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "web_search_call",
        "image_generation_call",
        "code_interpreter_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "custom_tool_call",
        "custom_tool_call_output",
        "compaction",
      ],
      "input item type",
      NO_TOOL,
    ),
  ]),
);

export type InputItemParam = z.output<typeof inputItem>;
export type MessageItemParam = z.output<typeof messageItem>;

// ---- tools, tool_choice, text.format ----

const functionName = z
  .string()
  .max(64)
  .regex(/^[a-zA-Z0-9_-]+$/);

const functionTool = z.object({
  type: z.literal("function"),
  name: functionName,
  description: z.string().nullish(),
  parameters: jsonObject.nullish(),
  // The Responses API's default is true (chat's is false).
  strict: z.boolean().nullish(),
});

const BUILT_IN = "only function tools are supported (lavash has no built-in tools)";

const toolSchema = z.discriminatedUnion("type", [
  functionTool,
  refusedType(
    [
      "web_search",
      "web_search_2025_08_26",
      "web_search_preview",
      "web_search_preview_2025_03_11",
      "file_search",
      "computer",
      "computer_use_preview",
      "code_interpreter",
      "image_generation",
      "mcp",
      "local_shell",
      "shell",
      "custom",
      "apply_patch",
      "namespace",
      "tool_search",
      "programmatic_tool_calling",
    ],
    "tool type",
    BUILT_IN,
  ),
]);

export type FunctionToolParam = z.output<typeof functionTool>;

const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), name: z.string() }),
  // Any other typed choice (allowed_tools, hosted tools, mcp, custom) is refused by RESPONSES_UNSUPPORTED.
  z.looseObject({ type: z.string() }),
]);

export type ToolChoiceParam = z.output<typeof toolChoiceSchema>;

const textFormatSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: functionName,
    description: z.string().nullish(),
    schema: jsonObject,
    strict: z.boolean().nullish(),
  }),
]);

export type TextFormatParam = z.output<typeof textFormatSchema>;

const textSchema = z.object({
  format: textFormatSchema.nullish(),
  verbosity: z.enum(["low", "medium", "high"]).nullish(),
});

const reasoningSchema = z.object({
  effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"]).nullish(),
  summary: z.enum(["auto", "concise", "detailed"]).nullish(),
  generate_summary: z.enum(["auto", "concise", "detailed"]).nullish(),
});

/** OpenAI's includables; what lavash can produce is decided in RESPONSES_UNSUPPORTED. */
const includable = z.enum([
  "file_search_call.results",
  "web_search_call.results",
  "web_search_call.action.sources",
  "message.input_image.image_url",
  "computer_call_output.output.image_url",
  "code_interpreter_call.outputs",
  "reasoning.encrypted_content",
  "message.output_text.logprobs",
]);

// ---- the request ----

export const MAX_METADATA_PAIRS = 16;

export const responseRequestSchema = z
  .strictObject({
    model: z.string(),
    input: z.union([z.string(), z.array(inputItem)]).nullish(),
    instructions: z.string().nullish(),
    max_output_tokens: z.int().min(1).nullish(),
    temperature: temperatureSchema,
    top_p: topPSchema,
    seed: seedSchema,
    top_logprobs: z.int().min(0).max(20).nullish(),

    // Extensions (EXTENSION_PARAMETERS): vLLM's sampling names and ranges, lavash's `its`.
    ...samplingExtensionShape,
    its: itsSchema.nullish(),

    tools: z.array(toolSchema).nullish(),
    tool_choice: toolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    text: textSchema.nullish(),
    reasoning: reasoningSchema.nullish(),
    include: z.array(includable).nullish(),

    stream: z.boolean().nullish(),
    stream_options: z.object({ include_obfuscation: z.boolean().nullish() }).nullish(),
    store: z.boolean().nullish(),
    previous_response_id: z.string().nullish(),
    metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
    user: z.string().nullish(),
    truncation: z.enum(["auto", "disabled"]).nullish(),

    background: z.boolean().nullish(),
    conversation: z.union([z.string(), jsonObject]).nullish(),
    prompt: jsonObject.nullish(),
    context_management: z.array(jsonObject).nullish(),
    service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullish(),
    moderation: jsonObject.nullish(),
    // Caching and abuse-tracking hints: meaningful to OpenAI, harmless to ignore here.
    safety_identifier: z.string().nullish(),
    prompt_cache_key: z.string().nullish(),
    prompt_cache_retention: z.enum(["in_memory", "in-memory", "24h"]).nullish(),
    prompt_cache_options: jsonObject.nullish(),
  })
  .superRefine((req, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: "custom", message, path, params: { code: "invalid_value" } });
    };
    if (req.metadata != null && Object.keys(req.metadata).length > MAX_METADATA_PAIRS)
      issue(
        ["metadata"],
        `Invalid 'metadata': too many properties. Expected an object with at most ${MAX_METADATA_PAIRS} properties.`,
      );
    if (req.stream_options != null && req.stream !== true)
      issue(["stream_options"], "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    const functions = (req.tools ?? []).filter((t): t is FunctionToolParam => t.type === "function");
    const seen = new Set<string>();
    for (const [i, t] of functions.entries()) {
      if (seen.has(t.name))
        issue(["tools", i, "name"], `Invalid value for 'tools': the function name '${t.name}' is used twice.`);
      seen.add(t.name);
    }
    const choice = req.tool_choice;
    if (choice === "required" && functions.length === 0)
      issue(["tool_choice"], "Tool choice 'required' must be specified with 'tools' parameter.");
    if (typeof choice === "object" && choice !== null && choice.type === "function") {
      const name = (choice as { name?: unknown }).name;
      if (!functions.some((t) => t.name === name))
        issue(["tool_choice"], `Tool choice '${String(name)}' not found in 'tools' parameter.`);
    }
  });

export type ResponseRequest = z.output<typeof responseRequestSchema>;

function isFunctionChoice(value: unknown): boolean {
  return typeof value === "string" || (value as { type?: unknown }).type === "function";
}

/** `reasoning` asks for nothing lavash cannot do: no effort to set, no summary to write. */
function asksNoReasoningControl(value: unknown): boolean {
  const r = value as z.output<typeof reasoningSchema>;
  return r.effort == null && r.summary == null && r.generate_summary == null;
}

/**
 * What responses requests may carry only as no-ops today. Delete a row when lavash honours the
 * parameter. Tools other than functions, non-text content parts and other item types are refused
 * by the schema itself (with the type named).
 */
export const RESPONSES_UNSUPPORTED: readonly UnsupportedRule[] = [
  onlyValues("background", [false], "responses are generated while the request waits (or streams)"),
  never("conversation", "continue a conversation with 'previous_response_id'"),
  never("prompt", "prompt templates are OpenAI's dashboard objects: send 'instructions' and 'input'"),
  when("context_management", isEmpty),
  when("tool_choice", isFunctionChoice, "only 'none', 'auto', 'required' and {type: 'function', name} are accepted"),
  onlyValues("truncation", ["disabled"], "a conversation longer than the context is refused with a 400"),
  when(
    "reasoning",
    asksNoReasoningControl,
    "the model's reasoning cannot be steered (no effort, no summaries); reasoning it writes inside <think> comes back as 'reasoning' items",
  ),
  when(
    "include",
    (v) => Array.isArray(v) && v.every((x) => x === "message.output_text.logprobs"),
    "only 'message.output_text.logprobs' can be included",
  ),
  onlyValues("service_tier", ["auto", "default"]),
  when(
    "text",
    (v) => {
      const verbosity = (v as z.output<typeof textSchema>).verbosity;
      return verbosity == null || verbosity === "medium";
    },
    "text.verbosity other than 'medium' cannot be honoured",
  ),
  when("moderation", isEmpty),
];

export interface ParseOptions {
  /** Defaults to RESPONSES_UNSUPPORTED; pass [] to validate only. */
  unsupported?: readonly UnsupportedRule[];
}

/** Validates a responses request; throws ApiError (400) for anything OpenAI or lavash rejects. */
export function parseResponseRequest(body: unknown, options: ParseOptions = {}): ResponseRequest {
  const req = parseWith(responseRequestSchema, body);
  rejectUnsupported(req, options.unsupported ?? RESPONSES_UNSUPPORTED);
  return req;
}

// ---- GET /v1/responses/{id}/input_items ----

export const inputItemsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  order: z.enum(["asc", "desc"]).optional(),
  after: z.string().optional(),
  before: z.string().optional(),
  include: z.union([z.string(), z.array(z.string())]).optional(),
});

export type InputItemsQuery = z.output<typeof inputItemsQuerySchema>;

export function parseInputItemsQuery(query: unknown): InputItemsQuery {
  return parseWith(inputItemsQuerySchema, query ?? {});
}
