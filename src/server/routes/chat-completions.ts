import type { FastifyInstance } from "fastify";
import { chatLogprobEntries } from "../../api/logprobs.js";
import { ChatStreamBuilder, buildChatCompletion } from "../../api/chat/response.js";
import { chatLogprobsK, chatMaxTokens, flattenContent, parseChatCompletionRequest, type ChatCompletionRequest } from "../../api/chat/schema.js";
import { bestOfCount, normalizeStop, wantsStreamUsage } from "../../api/common.js";
import type { ChatMessage, Engine, PositionedTokenLogprob, ResponseFormat as ResponseFormatRequest } from "../../engine/types.js";
import { samplingParams, tokenNames, tokenUsage } from "../generation-params.js";
import { respond, type ResponseFormat } from "../respond.js";

export function registerChatCompletions(app: FastifyInstance, engine: Engine): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseChatCompletionRequest(request.body);
    const messages: ChatMessage[] = [];
    for (const m of body.messages) {
      // The schema lets tool and function turns through only once tools are honoured.
      if (m.role === "tool" || m.role === "function") continue;
      messages.push({ role: m.role, content: flattenContent(m.content) });
    }
    const k = chatLogprobsK(body);
    const n = body.n ?? 1;
    return respond(
      request,
      reply,
      engine,
      {
        model: body.model,
        requests: [
          {
            model: body.model,
            prompt: { kind: "chat", messages },
            maxTokens: chatMaxTokens(body),
            stop: normalizeStop(body.stop),
            sampling: samplingParams(body),
            logprobs: k ?? undefined,
            responseFormat: responseFormat(body),
          },
        ],
        n,
        bestOf: bestOfCount(body),
        stream: body.stream === true,
      },
      chatFormat(body, k),
    );
  });
}

function responseFormat(body: ChatCompletionRequest): ResponseFormatRequest | undefined {
  const format = body.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json_object" };
  // No schema: any JSON value satisfies it, as with an empty JSON Schema.
  return { kind: "json_schema", schema: format.json_schema.schema ?? {}, strict: format.json_schema.strict === true };
}

function chatFormat(body: ChatCompletionRequest, k: number | null): ResponseFormat {
  const chunks = new ChatStreamBuilder({ model: body.model, includeUsage: wantsStreamUsage(body) });
  const asIds = body.return_tokens_as_token_ids === true;
  const entries = (logprobs: PositionedTokenLogprob[] | null) => (k === null ? undefined : chatLogprobEntries(tokenNames(logprobs ?? [], asIds), k));
  return {
    complete: (choices, usage) =>
      buildChatCompletion({
        id: chunks.id,
        created: chunks.created,
        model: body.model,
        choices: choices.map((c) => ({ index: c.index, content: c.text, finishReason: c.finishReason, logprobs: entries(c.logprobs) ?? null })),
        usage: tokenUsage(usage),
      }),
    open: (index) => [chunks.roleChunk(index, k !== null)],
    prompt: () => [],
    text: (index, text, logprobs) => chunks.contentChunk(index, text, entries(logprobs)),
    finish: (index, reason) => chunks.finishChunk(index, reason),
    usage: (usage) => chunks.usageChunk(tokenUsage(usage)),
  };
}
