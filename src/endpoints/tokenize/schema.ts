// POST /tokenize and POST /detokenize: vLLM's extension endpoints, with vLLM's field names and
// defaults (vllm/entrypoints/serve/tokenize/protocol.py: TokenizeCompletionRequest,
// TokenizeChatRequest, TokenizeResponse, DetokenizeRequest, DetokenizeResponse). Unknown fields
// are a 400 (vLLM ignores them with a warning), and vLLM options lavash cannot honour are refused
// by name rather than ignored.
import { z } from "zod";
import { CHAT_UNSUPPORTED, chatCompletionRequestSchema } from "../chat-completions/schema.js";
import { invalidRequest } from "../shared/errors.js";
import { isEmpty, never, rejectUnsupported, when, type UnsupportedRule } from "../shared/unsupported.js";
import { parseWith } from "../shared/validation.js";

// vLLM's fields are plain booleans; null is taken as "default" here, as for OpenAI's parameters.
const flag = z.boolean().nullish();
const jsonObject = z.record(z.string(), z.unknown());

/** vLLM: absent means the first served model. */
const modelSchema = z.string().nullish();

export const tokenizeCompletionRequestSchema = z.strictObject({
  model: modelSchema,
  prompt: z.string(),
  /** Default true. */
  add_special_tokens: flag,
  return_token_strs: flag,
});

export const tokenizeChatRequestSchema = z
  .strictObject({
    model: modelSchema,
    // The chat completion's own message schema, so both endpoints accept and refuse the same turns.
    messages: chatCompletionRequestSchema.shape.messages,
    /** Default true. */
    add_generation_prompt: flag,
    continue_final_message: flag,
    /** Default false: the template adds what the model needs. */
    add_special_tokens: flag,
    return_token_strs: flag,
    chat_template: z.string().nullish(),
    chat_template_kwargs: jsonObject.nullish(),
    media_io_kwargs: jsonObject.nullish(),
    mm_processor_kwargs: jsonObject.nullish(),
    tools: chatCompletionRequestSchema.shape.tools,
  })
  .superRefine((req, ctx) => {
    // vLLM's check (and message) compares the values as sent, so an absent add_generation_prompt
    // does not conflict; lavash then renders without the generation prompt.
    if (req.continue_final_message === true && req.add_generation_prompt === true) {
      ctx.addIssue({
        code: "custom",
        message: "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
        path: ["continue_final_message"],
        params: { code: "invalid_value" },
      });
    }
  });

export type TokenizeCompletionRequest = z.output<typeof tokenizeCompletionRequestSchema>;
export type TokenizeChatRequest = z.output<typeof tokenizeChatRequestSchema>;
export type TokenizeRequest =
  | { kind: "text"; body: TokenizeCompletionRequest }
  | { kind: "chat"; body: TokenizeChatRequest };

export const TOKENIZE_CHAT_UNSUPPORTED: readonly UnsupportedRule[] = [
  ...CHAT_UNSUPPORTED.filter((rule) => rule.name === "messages" || rule.name === "tools"),
  never("chat_template", "the model's own chat template is always used"),
  when("chat_template_kwargs", isEmpty),
  // Options of multimodal processors: a text model never runs one, but a non-empty value asks for something.
  when("media_io_kwargs", isEmpty),
  when("mm_processor_kwargs", isEmpty),
];

/** vLLM tells the two request kinds apart by their required field: `prompt` or `messages`. */
export function parseTokenizeRequest(body: unknown): TokenizeRequest {
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    const hasPrompt = "prompt" in body;
    const hasMessages = "messages" in body;
    if (hasPrompt && hasMessages)
      throw invalidRequest("Specify either 'prompt' or 'messages', not both.", "messages", "invalid_value");
    if (!hasPrompt && hasMessages) {
      const req = parseWith(tokenizeChatRequestSchema, body);
      rejectUnsupported(req, TOKENIZE_CHAT_UNSUPPORTED);
      return { kind: "chat", body: req };
    }
    if (!hasPrompt && !hasMessages)
      throw invalidRequest(
        "Missing required parameter: 'prompt' (text) or 'messages' (chat).",
        "prompt",
        "missing_required_parameter",
      );
  }
  return { kind: "text", body: parseWith(tokenizeCompletionRequestSchema, body) };
}

export const detokenizeRequestSchema = z.strictObject({
  model: modelSchema,
  tokens: z.array(z.int().min(0)),
});

export type DetokenizeRequest = z.output<typeof detokenizeRequestSchema>;

export function parseDetokenizeRequest(body: unknown): DetokenizeRequest {
  return parseWith(detokenizeRequestSchema, body);
}
