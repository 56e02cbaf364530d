// POST /v1/cache/match: the body of a chat completion, a legacy completion or a Responses API
// request, parsed by that endpoint's own schema (so the probe accepts and refuses exactly what the
// request itself would). Told apart by the field each requires: `messages` (chat), `prompt`
// (completions), otherwise a Responses API request (`input`, `previous_response_id`).
import { type ChatCompletionRequest, parseChatCompletionRequest } from "../chat-completions/schema.js";
import { type CompletionRequest, parseCompletionRequest } from "../completions/schema.js";
import { parseResponseRequest, type ResponseRequest } from "../responses/schema.js";
import { invalidRequest } from "../shared/errors.js";

export type CacheMatchRequest =
  | { kind: "chat"; body: ChatCompletionRequest }
  | { kind: "completions"; body: CompletionRequest }
  | { kind: "responses"; body: ResponseRequest };

export function parseCacheMatchRequest(body: unknown): CacheMatchRequest {
  const fields = body !== null && typeof body === "object" && !Array.isArray(body) ? body : {};
  const hasMessages = "messages" in fields;
  const hasPrompt = "prompt" in fields;
  if (hasMessages && hasPrompt)
    throw invalidRequest(
      "Specify either 'messages' (chat completions) or 'prompt' (completions), not both.",
      "messages",
      "invalid_value",
    );
  if (hasMessages) return { kind: "chat", body: parseChatCompletionRequest(body) };
  if (hasPrompt) return { kind: "completions", body: parseCompletionRequest(body) };
  return { kind: "responses", body: parseResponseRequest(body) };
}
