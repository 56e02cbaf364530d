import type { FastifyInstance } from "fastify";
import { engineMessage, toolDefinitions } from "../shared/generation-params.js";
import { invalidRequest } from "../shared/errors.js";
import {
  buildDetokenizeResponse,
  buildTokenizeResponse,
  parseDetokenizeRequest,
  parseTokenizeRequest,
  type TokenizeRequest,
} from "./schema.js";
import type { Engine, TokenizeInput } from "../../engine/types.js";
import { toApiError } from "../shared/engine-errors.js";

/** POST /tokenize and POST /detokenize (vLLM extensions; at the root, where vLLM serves them). */
export function registerTokenize(app: FastifyInstance, engine: Engine): void {
  app.post("/tokenize", async (request) => {
    const req = parseTokenizeRequest(request.body);
    const model = req.body.model ?? defaultModel(engine);
    request.facts.model = model;
    try {
      const result = await engine.tokenize(model, toTokenizeInput(req));
      request.facts.promptTokens = result.tokens.length;
      // Each token's own text, as node-llama-cpp detokenizes it alone (vLLM lists the tokenizer's
      // raw pieces, "Ġworld" for " world"); a token holding part of a UTF-8 character shows U+FFFD.
      const tokenStrs =
        req.body.return_token_strs === true ? await Promise.all(result.tokens.map((t) => engine.detokenize(model, [t]))) : null;
      return buildTokenizeResponse(result.tokens, result.contextSize, tokenStrs);
    } catch (error) {
      throw toApiError(error, model);
    }
  });

  app.post("/detokenize", async (request) => {
    const req = parseDetokenizeRequest(request.body);
    const model = req.model ?? defaultModel(engine);
    request.facts.model = model;
    try {
      return buildDetokenizeResponse(await engine.detokenize(model, req.tokens));
    } catch (error) {
      throw toApiError(error, model);
    }
  });
}

/** vLLM's default when `model` is absent: the first model served. */
function defaultModel(engine: Engine): string {
  const first = engine.listModels()[0];
  if (!first) throw invalidRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter");
  return first.id;
}

function toTokenizeInput(req: TokenizeRequest): TokenizeInput {
  if (req.kind === "text") return { kind: "text", text: req.body.prompt, addSpecialTokens: req.body.add_special_tokens ?? true };
  const body = req.body;
  const messages = body.messages.map(engineMessage);
  const continueFinalMessage = body.continue_final_message ?? false;
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
