// POST /v1/embeddings: parse (schema.ts), map onto the engine (mapping.ts), embed, build the list (response.ts).
import type { FastifyInstance } from "fastify";
import type { EmbeddingResult, Engine } from "../../engine/types.js";
import { toApiError } from "../shared/engine-errors.js";
import { EMBEDDING_ERROR_NAMES, embeddingInput } from "./mapping.js";
import { buildEmbeddingList } from "./response.js";
import { parseEmbeddingRequest } from "./schema.js";

export function registerEmbeddings(app: FastifyInstance, engine: Engine): void {
  app.post("/v1/embeddings", async (request) => {
    const body = parseEmbeddingRequest(request.body);
    request.facts.model = body.model;
    let result: EmbeddingResult;
    try {
      result = await engine.embed(body.model, embeddingInput(body));
    } catch (error) {
      throw toApiError(error, body.model, EMBEDDING_ERROR_NAMES);
    }
    request.facts.promptTokens = result.promptTokens;
    return buildEmbeddingList({
      model: body.model,
      vectors: result.vectors,
      promptTokens: result.promptTokens,
      format: body.encoding_format ?? "float",
    });
  });
}
