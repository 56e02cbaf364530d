// POST /v1/cache/match, wire → engine: the request's prompts as its own endpoint maps them (the
// same GenerateRequests, so the rendered prompt is the real one: tools, instructions, the
// previous_response_id chain), and that endpoint's names for the engine's fields.
import type { ResponseStore } from "../../storage/response-store.js";
import { chatGeneration } from "../chat-completions/mapping.js";
import { completionGeneration } from "../completions/mapping.js";
import { conversationHistory, storedInputItems } from "../responses/input-items.js";
import { responsesGeneration } from "../responses/mapping.js";
import type { ItsServerLimits } from "../shared/its/plan.js";
import type { RunPlan } from "../shared/respond.js";
import type { CacheMatchRequest } from "./schema.js";

export function cacheMatchPlan(req: CacheMatchRequest, limits: ItsServerLimits, store: ResponseStore | null): RunPlan {
  switch (req.kind) {
    case "chat":
      return chatGeneration(req.body, limits).plan;
    case "completions":
      return completionGeneration(req.body, limits).plan;
    case "responses": {
      const body = req.body;
      const history = conversationHistory(store, body.previous_response_id);
      return responsesGeneration(body, history, storedInputItems(body.input), limits).plan;
    }
  }
}
