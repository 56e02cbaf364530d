// POST /tokenize and POST /detokenize (vLLM's), wire → engine: a text prompt or a chat rendered
// as the chat completion would render it, and the refusals that need two fields at once.
import type { EngineField } from "../../engine/errors.js";
import type { Engine, TokenizeInput } from "../../engine/types.js";
import { engineMessage, toolDefinitions } from "../chat-completions/mapping.js";
import type { EngineErrorNames } from "../shared/engine-errors.js";
import { invalidRequest } from "../shared/errors.js";
import type { TokenizeRequest } from "./schema.js";

export const CONTINUE_NEEDS_ASSISTANT = "'continue_final_message' needs the last message to be an assistant message.";

export function tokenizeInput(req: TokenizeRequest): TokenizeInput {
  if (req.kind === "text")
    return { kind: "text", text: req.body.prompt, addSpecialTokens: req.body.add_special_tokens ?? true };
  const body = req.body;
  const messages = body.messages.map(engineMessage);
  const continueFinalMessage = body.continue_final_message ?? false;
  // (Both continue_final_message and add_generation_prompt true is the schema's refusal.)
  if (continueFinalMessage && messages.at(-1)?.role !== "assistant")
    throw invalidRequest(CONTINUE_NEEDS_ASSISTANT, "messages", "invalid_value");
  return {
    kind: "chat",
    messages,
    // Asking to continue the last message means no new turn unless a generation prompt is asked
    // for explicitly (which the schema refuses as a conflict).
    addGenerationPrompt: body.add_generation_prompt ?? !continueFinalMessage,
    continueFinalMessage,
    tools: toolDefinitions(body.tools),
    addSpecialTokens: body.add_special_tokens ?? false,
  };
}

/** vLLM's default when `model` is absent: the first model served. */
export function defaultModel(engine: Engine): string {
  const first = engine.listModels()[0];
  if (!first) throw invalidRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter");
  return first.id;
}

export const TOKENIZE_ERROR_NAMES: EngineErrorNames = {
  param(field: EngineField): string | null {
    switch (field) {
      case "prompt":
        return "prompt";
      case "prompt.messages":
        return "messages";
      case "tokens":
        return "tokens";
      case "model":
        return "model";
      default:
        return null;
    }
  },
};
