import type { FastifyInstance } from "fastify";
import { ChatStreamBuilder, buildChatCompletion } from "../../api/chat/response.js";
import { chatMaxTokens, flattenContent, parseChatCompletionRequest, type ChatCompletionRequest } from "../../api/chat/schema.js";
import { normalizeStop, wantsStreamUsage } from "../../api/common.js";
import type { ChatMessage, Engine, GenerateRequest } from "../../engine/types.js";
import { respond, type ResponseFormat } from "../respond.js";

export function registerChatCompletions(app: FastifyInstance, engine: Engine): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseChatCompletionRequest(request.body);
    const stream = body.stream === true;
    return respond(request, reply, engine, toGenerateRequest(body), chatFormat(body.model, wantsStreamUsage(body)), stream);
  });
}

function toGenerateRequest(body: ChatCompletionRequest): Omit<GenerateRequest, "signal"> {
  const messages: ChatMessage[] = [];
  for (const m of body.messages) {
    // Tool and function results arrive with the tools feature; the schema only lets them through
    // when tools are honoured, so here they are plain conversation turns.
    if (m.role === "tool" || m.role === "function") continue;
    messages.push({ role: m.role, content: flattenContent(m.content) });
  }
  return {
    model: body.model,
    prompt: { kind: "chat", messages },
    maxTokens: chatMaxTokens(body),
    stop: normalizeStop(body.stop),
    sampling: { temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined },
  };
}

function chatFormat(model: string, includeUsage: boolean): ResponseFormat {
  const chunks = new ChatStreamBuilder({ model, includeUsage });
  return {
    complete: (choices, usage) =>
      buildChatCompletion({ id: chunks.id, created: chunks.created, model, choices: choices.map((c) => ({ content: c.text, finishReason: c.finishReason })), usage }),
    open: (index) => [chunks.roleChunk(index)],
    text: (index, text) => chunks.contentChunk(index, text),
    finish: (index, reason) => chunks.finishChunk(index, reason),
    usage: (usage) => chunks.usageChunk(usage),
  };
}
