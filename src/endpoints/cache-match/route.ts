// POST /v1/cache/match (lavash's): how many of a request's prompt tokens the model's KV cache holds
// now, without running it. The body is a chat completion, completion or Responses API request;
// the answer is what that request's usage would report as cached_tokens if it were sent now (the
// gateway probes lavash replicas with it: src/gateway/cache-probe.ts). Nothing is evaluated.
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../engine/types.js";
import type { ResponseStore } from "../../storage/response-store.js";
import { toApiError } from "../shared/engine-errors.js";
import { ApiError } from "../shared/errors.js";
import type { ItsServerLimits } from "../shared/its/plan.js";
import { cacheMatchPlan } from "./mapping.js";
import { buildCacheMatchResponse } from "./response.js";
import { parseCacheMatchRequest } from "./schema.js";

export function registerCacheMatch(
  app: FastifyInstance,
  engine: Engine,
  limits: ItsServerLimits,
  store: ResponseStore | null,
): void {
  app.post("/v1/cache/match", async (request) => {
    const plan = cacheMatchPlan(parseCacheMatchRequest(request.body), limits, store);
    request.facts.model = plan.model;
    if (!engine.matchCache)
      throw new ApiError(501, "This engine cannot report its prefix cache.", {
        type: "invalid_request_error",
        code: "not_implemented",
      });
    let promptTokens = 0;
    let cachedTokens = 0;
    try {
      for (const generation of plan.requests) {
        const match = await engine.matchCache(generation);
        promptTokens += match.promptTokens;
        cachedTokens += match.cachedTokens;
      }
    } catch (error) {
      throw toApiError(error, plan.model, plan.errorNames);
    }
    request.facts.promptTokens = promptTokens;
    request.facts.cachedPromptTokens = cachedTokens;
    return buildCacheMatchResponse(plan.model, promptTokens, cachedTokens);
  });
}
