import type { FastifyInstance } from "fastify";
import { bestOfCount, checkChoiceCount, normalizeStop, wantsStreamUsage } from "../shared/request-fields.js";
import { CompletionStreamBuilder, buildCompletion } from "./response.js";
import { completionLogprobsK, completionMaxTokens, parseCompletionRequest, promptInputs, type CompletionRequest } from "./schema.js";
import { concatLegacyLogprobs, legacyLogprobs, type LegacyLogprobs } from "../shared/logprobs.js";
import { invalidRequest } from "../shared/errors.js";
import type { Engine, FinishReason, PositionedTokenLogprob } from "../../engine/types.js";
import { respond, type FinalChoice, type PromptPart, type ResponseFormat } from "../shared/respond.js";
import type { WireItsDiagnostics } from "../shared/its/diagnostics.js";
import { itsPlan, type ItsServerLimits } from "../shared/its/plan.js";
import { samplingParams, tokenNames, tokenUsage } from "../shared/generation-params.js";

export function registerCompletions(app: FastifyInstance, engine: Engine, limits: ItsServerLimits): void {
  app.post("/v1/completions", async (request, reply) => {
    const body = parseCompletionRequest(request.body);
    const prompts = promptInputs(body.prompt);
    if (prompts.length === 0) throw invalidRequest("'prompt' must not be an empty array.", "prompt", "empty_array");
    checkChoiceCount(prompts.length, body);
    if (body.suffix != null && prompts.some((p) => p.kind !== "text"))
      throw invalidRequest("'suffix' needs text prompts: fill-in-the-middle is built from the prompt's text.", "suffix");
    const k = completionLogprobsK(body);
    const echo = body.echo === true;
    const its = body.its ? itsPlan(body.its, body, limits, [[prompts.length > 1, "prompt"]]) : undefined;
    return respond(
      request,
      reply,
      engine,
      {
        model: body.model,
        requests: prompts.map((p) => ({
          model: body.model,
          prompt: p.kind === "text" ? { kind: "text" as const, text: p.text, ...(body.suffix != null ? { suffix: body.suffix } : {}) } : p,
          maxTokens: completionMaxTokens(body),
          stop: normalizeStop(body.stop),
          sampling: samplingParams(body),
          logprobs: k ?? undefined,
          echo,
        })),
        n: its ? its.choices : (body.n ?? 1),
        bestOf: bestOfCount(body),
        stream: body.stream === true,
        ...(its ? { its } : {}),
      },
      completionFormat(body, k),
    );
  });
}

function completionFormat(body: CompletionRequest, k: number | null): ResponseFormat {
  const usageChunks = wantsStreamUsage(body);
  const chunks = new CompletionStreamBuilder({ model: body.model, includeUsage: usageChunks });
  const asIds = body.return_tokens_as_token_ids === true;
  const generated = (logprobs: PositionedTokenLogprob[] | null, offsetBase: number): LegacyLogprobs | undefined =>
    k === null ? undefined : legacyLogprobs(tokenNames(logprobs ?? [], asIds).map((t) => ({ ...t, offset: t.offset + offsetBase })), k);
  const echoed = (prompt: PromptPart): LegacyLogprobs | undefined =>
    k === null ? undefined : legacyLogprobs(tokenNames(prompt.logprobs ?? [], asIds), k, { firstIsNull: true });
  const choiceLogprobs = (c: FinalChoice): LegacyLogprobs | null => {
    if (k === null) return null;
    const own = generated(c.logprobs, c.prompt?.text.length ?? 0)!;
    return c.prompt ? concatLegacyLogprobs(echoed(c.prompt)!, own) : own;
  };
  return {
    complete: (choices, usage, its) =>
      buildCompletion({
        id: chunks.id,
        created: chunks.created,
        model: body.model,
        choices: choices.map((c) => ({ index: c.index, text: (c.prompt?.text ?? "") + c.text, finishReason: textFinish(c.finishReason), logprobs: choiceLogprobs(c) })),
        usage: tokenUsage(usage),
        ...(its ? { its: its as unknown as WireItsDiagnostics } : {}),
      }),
    open: () => [],
    prompt: (index, prompt) => [chunks.textChunk(index, prompt.text, echoed(prompt))],
    text: (index, text, logprobs, offsetBase) => [chunks.textChunk(index, text, generated(logprobs, offsetBase))],
    finish: (index, reason, its) => [chunks.finishChunk(index, textFinish(reason), usageChunks ? undefined : (its as WireItsDiagnostics | undefined))],
    usage: (usage, its) => chunks.usageChunk(tokenUsage(usage), its as WireItsDiagnostics | undefined),
  };
}

/** Legacy completions never carry tools, so the engine never ends them with `tool_calls`. */
function textFinish(reason: FinishReason): Exclude<FinishReason, "tool_calls"> {
  if (reason === "tool_calls") throw new Error("internal: tool_calls finish on a legacy completion");
  return reason;
}
