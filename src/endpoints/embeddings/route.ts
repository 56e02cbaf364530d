import type { FastifyInstance } from "fastify";
import { buildEmbeddingList } from "./response.js";
import { embeddingInputItems, parseEmbeddingRequest } from "./schema.js";
import { ApiError } from "../shared/errors.js";
import { EngineError, TokensPerRequestExceeded } from "../../engine/errors.js";
import type { Engine, EmbeddingResult } from "../../engine/types.js";
import { toApiError } from "../shared/engine-errors.js";

export function registerEmbeddings(app: FastifyInstance, engine: Engine): void {
  app.post("/v1/embeddings", async (request) => {
    const body = parseEmbeddingRequest(request.body);
    request.facts.model = body.model;
    let result: EmbeddingResult;
    try {
      result = await engine.embed(body.model, { inputs: embeddingInputItems(body.input), dimensions: body.dimensions ?? undefined });
    } catch (error) {
      throw embeddingApiError(error, body.model);
    }
    request.facts.promptTokens = result.promptTokens;
    return buildEmbeddingList({ model: body.model, vectors: result.vectors, promptTokens: result.promptTokens, format: body.encoding_format ?? "float" });
  });
}

function embeddingApiError(error: unknown, model: string): ApiError {
  // OpenAI's answer, type and code as it sends them (the SDKs raise BadRequestError).
  if (error instanceof TokensPerRequestExceeded)
    return new ApiError(400, error.message, { type: "max_tokens_per_request", param: null, code: "max_tokens_per_request" });
  // toApiError names `prompt` or `messages` for a context overflow; here the parameter is `input`.
  if (error instanceof EngineError && error.kind === "context_length_exceeded")
    return new ApiError(400, error.message, { type: "invalid_request_error", param: error.param ?? "input", code: "context_length_exceeded" });
  return toApiError(error, model);
}
