// POST /v1/chat/completions: parse (schema.ts), map onto the engine (mapping.ts), run and write
// the answer (shared/respond.ts) in this endpoint's bodies and chunks (response.ts).
import type { FastifyInstance } from "fastify";
import type { Engine, FinishReason, PositionedTokenLogprob, ToolCall } from "../../engine/types.js";
import type { ItsServerLimits } from "../shared/its/plan.js";
import { chatLogprobEntries, tokenNames } from "../shared/logprobs.js";
import { wantsStreamUsage } from "../shared/request-fields.js";
import { type ResponseShape, respond } from "../shared/respond.js";
import { tokenUsage } from "../shared/response-fields.js";
import { chatGeneration } from "./mapping.js";
import { buildChatCompletion, type ChatFinishReason, ChatStreamBuilder, type WireFunctionCall } from "./response.js";
import { type ChatCompletionRequest, parseChatCompletionRequest } from "./schema.js";

export function registerChatCompletions(app: FastifyInstance, engine: Engine, limits: ItsServerLimits): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseChatCompletionRequest(request.body);
    const generation = chatGeneration(body, limits);
    const { separateReasoning } = generation;
    const shape = chatShape(body, generation.topLogprobs, {
      deferOpen: generation.toolsOffered || separateReasoning,
      separateReasoning,
      legacyFunctions: generation.legacyFunctions,
    });
    return respond(request, reply, engine, generation.plan, shape);
  });
}

interface ChatShapeOptions {
  /** Send a choice's role chunk with its first output, so a turn of calls can open with content null. */
  deferOpen: boolean;
  separateReasoning: boolean;
  /** The deprecated `functions`: calls are written as `function_call`, finishing with `function_call`. */
  legacyFunctions: boolean;
}

/** The engine's reason as this request's wire says it. */
function finishReason(reason: FinishReason, legacyFunctions: boolean): ChatFinishReason {
  return legacyFunctions && reason === "tool_calls" ? "function_call" : reason;
}

/** The one call of a deprecated-functions choice (the engine makes at most one: parallel off). */
function functionCall(calls: readonly ToolCall[]): WireFunctionCall | null {
  const call = calls[0];
  return call === undefined ? null : { name: call.name, arguments: call.arguments };
}

function chatShape(body: ChatCompletionRequest, topLogprobs: number | null, options: ChatShapeOptions): ResponseShape {
  const usageChunks = wantsStreamUsage(body);
  const chunks = new ChatStreamBuilder({ model: body.model, includeUsage: usageChunks });
  const asIds = body.return_tokens_as_token_ids === true;
  const isOpen = new Set<number>();
  const opened = (choiceIndex: number) => {
    isOpen.add(choiceIndex);
    return chunks.roleChunk(choiceIndex, topLogprobs !== null);
  };
  /** The role chunk, if this choice has not had one yet. */
  const opening = (choiceIndex: number) => (isOpen.has(choiceIndex) ? [] : [opened(choiceIndex)]);
  const entries = (logprobs: PositionedTokenLogprob[] | null) =>
    topLogprobs === null ? undefined : chatLogprobEntries(tokenNames(logprobs ?? [], asIds), topLogprobs);
  return {
    complete: (choices, usage, its) =>
      buildChatCompletion({
        id: chunks.id,
        created: chunks.created,
        model: body.model,
        choices: choices.map((c) => ({
          index: c.index,
          content: c.text,
          finishReason: finishReason(c.finishReason, options.legacyFunctions),
          logprobs: entries(c.logprobs) ?? null,
          ...(options.legacyFunctions ? { functionCall: functionCall(c.toolCalls) } : { toolCalls: c.toolCalls }),
          ...(options.separateReasoning ? { reasoning: c.reasoning } : {}),
        })),
        usage: tokenUsage(usage),
        ...(its ? { its } : {}),
      }),
    open: (choiceIndex) => (options.deferOpen ? [] : [opened(choiceIndex)]),
    prompt: () => [],
    text: (choiceIndex, text, logprobs) => [
      ...opening(choiceIndex),
      chunks.contentChunk(choiceIndex, text, entries(logprobs)),
    ],
    reasoning: (choiceIndex, text) => [...opening(choiceIndex), chunks.reasoningChunk(choiceIndex, text)],
    toolCall: (choiceIndex, call, id, name) => {
      const first = !isOpen.has(choiceIndex);
      isOpen.add(choiceIndex);
      if (!options.legacyFunctions) return [chunks.toolCallChunk(choiceIndex, call, id, name, first)];
      return call === 0 ? [chunks.functionCallChunk(choiceIndex, name, first)] : [];
    },
    toolArguments: (choiceIndex, call, text) => {
      if (!options.legacyFunctions) return [chunks.toolArgumentsChunk(choiceIndex, call, text)];
      return call === 0 ? [chunks.functionArgumentsChunk(choiceIndex, text)] : [];
    },
    // An `its` run's diagnostics ride on the last chunk: the usage chunk when one is sent.
    finish: (choiceIndex, reason, its) => [
      ...opening(choiceIndex),
      chunks.finishChunk(choiceIndex, finishReason(reason, options.legacyFunctions), usageChunks ? undefined : its),
    ],
    usage: (usage, its) => chunks.usageChunk(tokenUsage(usage), its),
  };
}
