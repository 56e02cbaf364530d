// POST /tokenize and POST /detokenize (vLLM extensions; at the root, where vLLM serves them).
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../engine/types.js";
import { toApiError } from "../shared/engine-errors.js";
import { defaultModel, TOKENIZE_ERROR_NAMES, tokenizeInput } from "./mapping.js";
import { buildDetokenizeResponse, buildTokenizeResponse } from "./response.js";
import { parseDetokenizeRequest, parseTokenizeRequest } from "./schema.js";

export function registerTokenize(app: FastifyInstance, engine: Engine): void {
  app.post("/tokenize", async (request) => {
    const req = parseTokenizeRequest(request.body);
    const model = req.body.model ?? defaultModel(engine);
    request.facts.model = model;
    try {
      const result = await engine.tokenize(model, tokenizeInput(req));
      request.facts.promptTokens = result.tokens.length;
      // Each token's own text, as node-llama-cpp detokenizes it alone (vLLM lists the tokenizer's
      // raw pieces, "Ġworld" for " world"); a token holding part of a UTF-8 character shows U+FFFD.
      const tokenStrs =
        req.body.return_token_strs === true
          ? await Promise.all(result.tokens.map((t) => engine.detokenize(model, [t])))
          : null;
      return buildTokenizeResponse(result.tokens, result.contextSize, tokenStrs);
    } catch (error) {
      throw toApiError(error, model, TOKENIZE_ERROR_NAMES);
    }
  });

  app.post("/detokenize", async (request) => {
    const req = parseDetokenizeRequest(request.body);
    const model = req.model ?? defaultModel(engine);
    request.facts.model = model;
    try {
      return buildDetokenizeResponse(await engine.detokenize(model, req.tokens));
    } catch (error) {
      throw toApiError(error, model, TOKENIZE_ERROR_NAMES);
    }
  });
}
