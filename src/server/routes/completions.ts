import type { FastifyInstance } from "fastify";
import { normalizeStop, wantsStreamUsage } from "../../api/common.js";
import { CompletionStreamBuilder, buildCompletion } from "../../api/completions/response.js";
import { completionMaxTokens, parseCompletionRequest, type CompletionRequest } from "../../api/completions/schema.js";
import type { Engine, GenerateRequest } from "../../engine/types.js";
import { respond, type ResponseFormat } from "../respond.js";

export function registerCompletions(app: FastifyInstance, engine: Engine): void {
  app.post("/v1/completions", async (request, reply) => {
    const body = parseCompletionRequest(request.body);
    const stream = body.stream === true;
    return respond(request, reply, engine, toGenerateRequest(body), completionFormat(body.model, wantsStreamUsage(body)), stream);
  });
}

function toGenerateRequest(body: CompletionRequest): Omit<GenerateRequest, "signal"> {
  // The unsupported-parameter rules admit only a single string prompt for now.
  const text = typeof body.prompt === "string" ? body.prompt : "";
  return {
    model: body.model,
    prompt: { kind: "text", text },
    maxTokens: completionMaxTokens(body),
    stop: normalizeStop(body.stop),
    sampling: { temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined },
  };
}

function completionFormat(model: string, includeUsage: boolean): ResponseFormat {
  const chunks = new CompletionStreamBuilder({ model, includeUsage });
  return {
    complete: (choices, usage) =>
      buildCompletion({ id: chunks.id, created: chunks.created, model, choices: choices.map((c) => ({ text: c.text, finishReason: c.finishReason })), usage }),
    open: () => [],
    text: (index, text) => chunks.textChunk(index, text),
    finish: (index, reason) => chunks.finishChunk(index, reason),
    usage: (usage) => chunks.usageChunk(usage),
  };
}
