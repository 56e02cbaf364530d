// Runs one engine generation for an HTTP request and writes it out, either as one JSON body or
// as server-sent events. Shared by the chat and legacy completion routes, which differ only in
// how a choice is formatted (ResponseFormat).
import type { FastifyReply, FastifyRequest } from "fastify";
import type { TokenUsage } from "../api/common.js";
import { SseStream } from "../api/sse.js";
import type { Engine, FinishReason, GenerateRequest, Generation, Usage } from "../engine/types.js";
import { toApiError } from "./engine-errors.js";

export interface ChoiceResult {
  text: string;
  finishReason: FinishReason;
}

/** How one endpoint shapes its bodies and chunks. */
export interface ResponseFormat {
  complete(choices: ChoiceResult[], usage: TokenUsage): unknown;
  /** Chunks that open a choice (chat's role chunk); none for legacy completions. */
  open(index: number): unknown[];
  text(index: number, text: string): unknown;
  finish(index: number, reason: FinishReason): unknown;
  /** The closing `choices: []` usage chunk, or null when not asked for. */
  usage(usage: TokenUsage): unknown;
}

export async function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: Engine,
  generateRequest: Omit<GenerateRequest, "signal">,
  format: ResponseFormat,
  stream: boolean,
): Promise<unknown> {
  const facts = request.facts;
  facts.model = generateRequest.model;
  facts.stream = stream;
  // A client that goes away (streaming or not) cancels its generation and frees the sequence.
  const abort = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) abort.abort();
  });

  let generation: Generation;
  try {
    generation = await engine.generate({ ...generateRequest, signal: abort.signal });
  } catch (error) {
    throw toApiError(error, generateRequest.model);
  }
  facts.promptTokens = generation.promptTokens;

  if (!stream) {
    let text = "";
    try {
      for await (const event of generation) {
        if (event.type === "text") text += event.text;
        else {
          record(request, event.finishReason, event.usage);
          return format.complete([{ text, finishReason: event.finishReason }], toTokenUsage(event.usage));
        }
      }
    } catch (error) {
      throw toApiError(error, generateRequest.model);
    }
    // The generation ended without finishing: the client went away, nobody reads this.
    return reply.status(499).send();
  }

  reply.hijack();
  const sse = new SseStream(reply.raw);
  sse.open({ "x-request-id": request.id });
  try {
    for (const chunk of format.open(0)) await sse.send(chunk);
    for await (const event of generation) {
      if (sse.closed) break;
      if (event.type === "text") await sse.send(format.text(0, event.text));
      else {
        record(request, event.finishReason, event.usage);
        await sse.send(format.finish(0, event.finishReason));
        const usage = format.usage(toTokenUsage(event.usage));
        if (usage !== null) await sse.send(usage);
        sse.done();
      }
    }
  } catch (error) {
    const apiError = toApiError(error, generateRequest.model);
    if (apiError.status >= 500) request.log.error({ err: error }, "generation failed mid-stream");
    await sse.error(apiError);
  } finally {
    sse.end();
  }
  return reply;
}

function record(request: FastifyRequest, finishReason: FinishReason, usage: Usage): void {
  request.facts.finishReason = finishReason;
  request.facts.completionTokens = usage.completionTokens;
}

function toTokenUsage(usage: Usage): TokenUsage {
  return { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens };
}
