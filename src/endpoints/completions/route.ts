// POST /v1/completions (legacy): parse (schema.ts), map onto the engine (mapping.ts), run and
// write the answer (shared/respond.ts) in this endpoint's bodies and chunks (response.ts).
import type { FastifyInstance } from "fastify";
import type { Engine, FinishReason, PositionedTokenLogprob } from "../../engine/types.js";
import type { ItsServerLimits } from "../shared/its/plan.js";
import { concatLegacyLogprobs, type LegacyLogprobs, legacyLogprobs, tokenNames } from "../shared/logprobs.js";
import { wantsStreamUsage } from "../shared/request-fields.js";
import { type FinalChoice, type PromptPart, type ResponseShape, respond } from "../shared/respond.js";
import { tokenUsage } from "../shared/response-fields.js";
import { completionGeneration } from "./mapping.js";
import { buildCompletion, CompletionStreamBuilder } from "./response.js";
import { type CompletionRequest, parseCompletionRequest } from "./schema.js";

export function registerCompletions(app: FastifyInstance, engine: Engine, limits: ItsServerLimits): void {
  app.post("/v1/completions", async (request, reply) => {
    const body = parseCompletionRequest(request.body);
    const generation = completionGeneration(body, limits);
    return respond(request, reply, engine, generation.plan, completionShape(body, generation.topLogprobs));
  });
}

function completionShape(body: CompletionRequest, topLogprobs: number | null): ResponseShape {
  const usageChunks = wantsStreamUsage(body);
  const chunks = new CompletionStreamBuilder({ model: body.model, includeUsage: usageChunks });
  const asIds = body.return_tokens_as_token_ids === true;
  const generated = (logprobs: PositionedTokenLogprob[] | null, offsetBase: number): LegacyLogprobs | undefined =>
    topLogprobs === null
      ? undefined
      : legacyLogprobs(
          tokenNames(logprobs ?? [], asIds).map((t) => ({ ...t, offset: t.offset + offsetBase })),
          topLogprobs,
        );
  const echoed = (prompt: PromptPart): LegacyLogprobs | undefined =>
    topLogprobs === null
      ? undefined
      : legacyLogprobs(tokenNames(prompt.logprobs ?? [], asIds), topLogprobs, { firstIsNull: true });
  const choiceLogprobs = (c: FinalChoice): LegacyLogprobs | null => {
    if (topLogprobs === null) return null;
    const own = generated(c.logprobs, c.prompt?.text.length ?? 0)!;
    return c.prompt ? concatLegacyLogprobs(echoed(c.prompt)!, own) : own;
  };
  return {
    complete: (choices, usage, its) =>
      buildCompletion({
        id: chunks.id,
        created: chunks.created,
        model: body.model,
        choices: choices.map((c) => ({
          index: c.index,
          text: (c.prompt?.text ?? "") + c.text,
          finishReason: textFinish(c.finishReason),
          logprobs: choiceLogprobs(c),
        })),
        usage: tokenUsage(usage),
        ...(its ? { its } : {}),
      }),
    open: () => [],
    prompt: (choiceIndex, prompt) => [chunks.textChunk(choiceIndex, prompt.text, echoed(prompt))],
    text: (choiceIndex, text, logprobs, offsetBase) => [
      chunks.textChunk(choiceIndex, text, generated(logprobs, offsetBase)),
    ],
    finish: (choiceIndex, reason, its) => [
      chunks.finishChunk(choiceIndex, textFinish(reason), usageChunks ? undefined : its),
    ],
    usage: (usage, its) => chunks.usageChunk(tokenUsage(usage), its),
  };
}

/** Legacy completions never carry tools, so the engine never ends them with `tool_calls`. */
function textFinish(reason: FinishReason): Exclude<FinishReason, "tool_calls"> {
  if (reason === "tool_calls") throw new Error("internal: tool_calls finish on a legacy completion");
  return reason;
}
