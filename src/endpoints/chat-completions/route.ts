import type { FastifyInstance } from "fastify";
import { chatLogprobEntries } from "../shared/logprobs.js";
import { ChatStreamBuilder, buildChatCompletion } from "./response.js";
import { chatLogprobsK, chatMaxTokens, parseChatCompletionRequest, type ChatCompletionRequest } from "./schema.js";
import { bestOfCount, checkChoiceCount, normalizeStop, wantsStreamUsage } from "../shared/request-fields.js";
import type { Engine, PositionedTokenLogprob, ResponseFormat as ResponseFormatRequest, ToolCalling } from "../../engine/types.js";
import { engineMessage, samplingParams, toolDefinitions, tokenNames, tokenUsage } from "../shared/generation-params.js";
import { respond, type ResponseFormat } from "../shared/respond.js";
import { resolveChatIts } from "../shared/its/code.js";
import type { WireItsDiagnostics } from "../shared/its/diagnostics.js";
import { itsPlan, type ItsServerLimits } from "../shared/its/plan.js";

export function registerChatCompletions(app: FastifyInstance, engine: Engine, limits: ItsServerLimits): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = parseChatCompletionRequest(request.body);
    checkChoiceCount(1, parsed);
    // A PITA code opening the system prompt asks for scaling as the `its` object does.
    const scaling = resolveChatIts(parsed);
    const body = { ...parsed, messages: scaling.messages };
    const messages = body.messages.map(engineMessage);
    const tools = toolCalling(body);
    const its = scaling.its
      ? itsPlan(scaling.its, body, limits, [
          [tools !== undefined, "tools"],
          [body.response_format != null && body.response_format.type !== "text", "response_format"],
          [body.reasoning_format === "parsed" || body.reasoning_format === "deepseek", "reasoning_format"],
        ])
      : undefined;
    const separateReasoning = body.reasoning_format === "parsed" || body.reasoning_format === "deepseek";
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
            prompt: { kind: "chat", messages, ...(tools ? { tools } : {}), separateReasoning },
            maxTokens: chatMaxTokens(body),
            stop: normalizeStop(body.stop),
            sampling: samplingParams(body),
            logprobs: k ?? undefined,
            responseFormat: responseFormat(body),
          },
        ],
        n: its ? its.choices : n,
        bestOf: bestOfCount(body),
        stream: body.stream === true,
        ...(its ? { its } : {}),
      },
      chatFormat(body, k, { deferOpen: tools !== undefined || separateReasoning, separateReasoning }),
    );
  });
}

/** tools + tool_choice (default auto with tools, as OpenAI's) → the engine's; none: no tools at all. */
function toolCalling(body: ChatCompletionRequest): ToolCalling | undefined {
  const tools = toolDefinitions(body.tools);
  const choice = body.tool_choice ?? "auto";
  if (tools.length === 0 || choice === "none") return undefined;
  return {
    tools,
    choice: typeof choice === "string" ? choice : { name: (choice as { function: { name: string } }).function.name },
    parallel: body.parallel_tool_calls !== false,
  };
}

function responseFormat(body: ChatCompletionRequest): ResponseFormatRequest | undefined {
  const format = body.response_format;
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { kind: "json_object" };
  // No schema: any JSON value satisfies it, as with an empty JSON Schema.
  return { kind: "json_schema", schema: format.json_schema.schema ?? {}, strict: format.json_schema.strict === true };
}

interface ChatFormatOptions {
  /** Send a choice's role chunk with its first output, so a turn of calls can open with content null. */
  deferOpen: boolean;
  separateReasoning: boolean;
}

function chatFormat(body: ChatCompletionRequest, k: number | null, options: ChatFormatOptions): ResponseFormat {
  const usageChunks = wantsStreamUsage(body);
  const chunks = new ChatStreamBuilder({ model: body.model, includeUsage: usageChunks });
  const asIds = body.return_tokens_as_token_ids === true;
  const isOpen = new Set<number>();
  const opened = (index: number) => {
    isOpen.add(index);
    return chunks.roleChunk(index, k !== null);
  };
  /** The role chunk, if this choice has not had one yet. */
  const opening = (index: number) => (isOpen.has(index) ? [] : [opened(index)]);
  const entries = (logprobs: PositionedTokenLogprob[] | null) => (k === null ? undefined : chatLogprobEntries(tokenNames(logprobs ?? [], asIds), k));
  return {
    complete: (choices, usage, its) =>
      buildChatCompletion({
        id: chunks.id,
        created: chunks.created,
        model: body.model,
        choices: choices.map((c) => ({
          index: c.index,
          content: c.text,
          finishReason: c.finishReason,
          logprobs: entries(c.logprobs) ?? null,
          toolCalls: c.toolCalls,
          ...(options.separateReasoning ? { reasoning: c.reasoning } : {}),
        })),
        usage: tokenUsage(usage),
        ...(its ? { its: its as unknown as WireItsDiagnostics } : {}),
      }),
    open: (index) => (options.deferOpen ? [] : [opened(index)]),
    prompt: () => [],
    text: (index, text, logprobs) => [...opening(index), chunks.contentChunk(index, text, entries(logprobs))],
    reasoning: (index, text) => [...opening(index), chunks.reasoningChunk(index, text)],
    toolCall: (index, call, id, name) => {
      const first = !isOpen.has(index);
      isOpen.add(index);
      return [chunks.toolCallChunk(index, call, id, name, first)];
    },
    toolArguments: (index, call, text) => [chunks.toolArgumentsChunk(index, call, text)],
    // An `its` run's diagnostics ride on the last chunk: the usage chunk when one is sent.
    finish: (index, reason, its) => [...opening(index), chunks.finishChunk(index, reason, usageChunks ? undefined : (its as WireItsDiagnostics | undefined))],
    usage: (usage, its) => chunks.usageChunk(tokenUsage(usage), its as WireItsDiagnostics | undefined),
  };
}
