// Runs the engine generations behind one HTTP request and writes them out, as one JSON body or as
// server-sent events. Shared by the chat and legacy completion routes, which differ only in how
// they shape bodies and chunks (ResponseShape). One request may hold several prompts (legacy
// prompt arrays: choice index = prompt_index × n + j) and several choices per prompt; with
// best_of > n, best_of candidates are generated and the n with the highest mean token logprob
// are returned.
import type { FastifyReply, FastifyRequest } from "fastify";
import type {
  Engine,
  FinishReason,
  GenerateRequest,
  GenerationEvent,
  PositionedTokenLogprob,
  ToolCall,
  Usage,
} from "../../engine/types.js";
import type { ItsProgress } from "../../its/types.js";
import { followStop, throwIfStopped } from "../../server/in-flight.js";
import type { TokenTimer } from "../../server/metrics.js";
import { toApiError, type EngineErrorNames } from "./engine-errors.js";
import { describeCause } from "./errors.js";
import type { WireItsDiagnostics } from "./its/diagnostics.js";
import { startScaledGeneration, type ScaledPlan } from "./its/run.js";
import { type SseEventFormat, SseStream } from "./sse.js";

export interface PromptPart {
  text: string;
  logprobs: PositionedTokenLogprob[] | null;
}

export interface FinalChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
  logprobs: PositionedTokenLogprob[] | null;
  /** The echoed prompt (legacy `echo`), or null. */
  prompt: PromptPart | null;
  /** Function calls, in order (chat with tools). */
  toolCalls: ToolCall[];
  /** Text of a leading `<think>` block when reasoning is separated, else null. */
  reasoning: string | null;
}

/**
 * What a response is written from: the engine's generation events, and for an inference-time
 * scaling run (run in this layer, around the engine) its progress and diagnostics too.
 */
export type ResponseEvent =
  | GenerationEvent
  /** What the run has done so far (streamed as an SSE comment). */
  | { type: "its_progress"; progress: ItsProgress }
  /** The run's diagnostics, for the response's `its` field; before the choices' events. */
  | { type: "its_diagnostics"; diagnostics: WireItsDiagnostics };

/** An engine Generation, or a scaling run: admitted, its prompt counted, events to come. */
export interface ResponseSource extends AsyncIterable<ResponseEvent> {
  readonly promptTokens: number;
}

/** How one endpoint shapes its bodies and chunks. */
export interface ResponseShape {
  // choiceIndex: the choice's `index` on the wire (prompt_index × n + j), not the engine's per-prompt index.
  complete(choices: FinalChoice[], usage: Usage, its?: WireItsDiagnostics): unknown;
  /** Chunks that open a choice (chat's role chunk); none for legacy completions. */
  open(choiceIndex: number): unknown[];
  /** The echoed prompt of a choice, as chunks. */
  prompt(choiceIndex: number, prompt: PromptPart): unknown[];
  /** `offsetBase`: characters before this choice's generated text in its returned text (echo). */
  text(choiceIndex: number, text: string, logprobs: PositionedTokenLogprob[] | null, offsetBase: number): unknown[];
  /** `its`: given with the last choice's finish, for the stream's final chunk. */
  finish(choiceIndex: number, reason: FinishReason, its?: WireItsDiagnostics): unknown[];
  /** Chat only: reasoning text, a call's opening, a fragment of its arguments. */
  reasoning?(choiceIndex: number, text: string): unknown[];
  toolCall?(choiceIndex: number, call: number, id: string, name: string): unknown[];
  toolArguments?(choiceIndex: number, call: number, text: string): unknown[];
  /** The closing `choices: []` usage chunk, or null when not asked for. */
  usage(usage: Usage, its?: WireItsDiagnostics): unknown;
  /** How the stream frames events (named events, no [DONE]); absent: chat's `data:` chunks. */
  sseFormat?: SseEventFormat;
}

export interface RunPlan {
  model: string;
  /** One engine request per prompt; each generates `bestOf ?? n` candidates. */
  requests: Omit<GenerateRequest, "signal" | "n" | "scoreChoices">[];
  n: number;
  /** Candidates per prompt when more than n are generated (never streamed). */
  bestOf: number | null;
  stream: boolean;
  /** Inference-time scaling instead of plain generation (one request; n chains for power sampling). */
  its?: ScaledPlan;
  /** How the endpoint names the engine's fields in its errors. */
  errorNames: EngineErrorNames;
}

export async function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  engine: Engine,
  plan: RunPlan,
  shape: ResponseShape,
): Promise<unknown> {
  request.facts.model = plan.model;
  request.facts.stream = plan.stream;
  // A client that goes away (streaming or not) cancels its generations and frees the sequences.
  const abort = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  // So do the server's limits (--request-timeout, shutdown); throwIfStopped then says why.
  followStop(request, abort);

  const candidates = plan.bestOf !== null && plan.bestOf > plan.n ? plan.bestOf : plan.n;
  const generations: ResponseSource[] = [];
  try {
    for (const r of plan.requests)
      generations.push(
        plan.its
          ? await startScaledGeneration(engine, r, plan.its, abort.signal)
          : await engine.generate({
              ...r,
              n: candidates,
              scoreChoices: candidates > plan.n,
              signal: abort.signal,
              continuesAcceptedRequest: generations.length > 0,
            }),
      );
  } catch (error) {
    abort.abort(); // frees what the earlier prompts already started
    throwIfStopped(request);
    throw toApiError(error, plan.model, plan.errorNames);
  }
  request.facts.promptTokens = generations.reduce((n, g) => n + g.promptTokens, 0);

  if (!plan.stream) {
    let result: { choices: FinalChoice[]; usage: Usage; its?: WireItsDiagnostics };
    try {
      result = await collect(generations, plan.n, candidates, request.tokenTimer);
    } catch (error) {
      throw toApiError(error, plan.model, plan.errorNames);
    }
    throwIfStopped(request);
    if (abort.signal.aborted) return reply.status(499).send(); // nobody is listening any more
    record(request, result.choices, result.usage);
    return shape.complete(result.choices, result.usage, result.its);
  }

  reply.hijack();
  const sse = new SseStream(reply.raw, shape.sseFormat ? { format: shape.sseFormat } : {});
  sse.open({ "x-request-id": request.id });
  const usage = emptyUsage();
  const promptLength = new Map<number, number>();
  let its: WireItsDiagnostics | undefined;
  let finished = 0;
  try {
    for (let i = 0; i < generations.length * plan.n; i++) await sse.sendAll(shape.open(i));
    for await (const { source, event } of merge(generations)) {
      if (sse.closed) break;
      const base = source * plan.n;
      switch (event.type) {
        case "prompt":
          for (let j = 0; j < plan.n; j++) {
            promptLength.set(base + j, event.text.length);
            await sse.sendAll(shape.prompt(base + j, event));
          }
          break;
        case "text":
          request.tokenTimer?.text(base + event.index);
          await sse.sendAll(
            shape.text(base + event.index, event.text, event.logprobs, promptLength.get(base + event.index) ?? 0),
          );
          break;
        case "reasoning":
          await sse.sendAll(shape.reasoning?.(base + event.index, event.text) ?? []);
          break;
        case "tool_call":
          await sse.sendAll(shape.toolCall?.(base + event.index, event.call, event.id, event.name) ?? []);
          break;
        case "tool_arguments":
          await sse.sendAll(shape.toolArguments?.(base + event.index, event.call, event.text) ?? []);
          break;
        case "finish":
          finished++;
          await sse.sendAll(
            shape.finish(
              base + event.index,
              event.finishReason,
              finished === generations.length * plan.n ? its : undefined,
            ),
          );
          break;
        case "usage":
          addUsage(usage, event.usage);
          break;
        case "its_progress":
          await sse.comment(`its ${JSON.stringify(event.progress)}`);
          break;
        case "its_diagnostics":
          its = event.diagnostics;
          break;
      }
    }
    throwIfStopped(request);
    if (!sse.closed) {
      request.facts.completionTokens = usage.completionTokens;
      request.facts.cachedPromptTokens = usage.cachedPromptTokens;
      const chunk = shape.usage(usage, its);
      if (chunk !== null) await sse.send(chunk);
      sse.done();
    }
  } catch (error) {
    const apiError = toApiError(error, plan.model, plan.errorNames);
    // The stream's 200 is already sent, so the error handler never sees this one: logged here.
    if (apiError.status >= 500)
      request.log.error({ err: apiError.cause ?? error }, `internal error mid-stream: ${describeCause(apiError)}`);
    await sse.error(apiError);
  } finally {
    abort.abort(); // no-op when everything finished; stops the rest if the stream broke off
    sse.end();
  }
  return reply;
}

interface Candidate extends FinalChoice {
  meanLogprob: number;
}

/** Reads every generation to its end; keeps the n best candidates per prompt when best_of > n. */
async function collect(
  generations: ResponseSource[],
  n: number,
  candidates: number,
  timer?: TokenTimer | null,
): Promise<{ choices: FinalChoice[]; usage: Usage; its?: WireItsDiagnostics }> {
  const usage = emptyUsage();
  let its: WireItsDiagnostics | undefined;
  const choices: FinalChoice[] = [];
  for (const [source, generation] of generations.entries()) {
    let prompt: PromptPart | null = null;
    const pool: Candidate[] = Array.from({ length: candidates }, (_, index) => ({
      index,
      text: "",
      finishReason: "length",
      logprobs: null,
      prompt: null,
      toolCalls: [],
      reasoning: null,
      meanLogprob: -Infinity,
    }));
    for await (const event of generation) {
      if (event.type === "prompt") prompt = { text: event.text, logprobs: event.logprobs };
      else if (event.type === "text") {
        // Later prompts' events wait in their channel while earlier ones are read: not timed.
        if (source === 0) timer?.text(event.index);
        const c = pool[event.index]!;
        c.text += event.text;
        if (event.logprobs) (c.logprobs ??= []).push(...event.logprobs);
      } else if (event.type === "reasoning") {
        const c = pool[event.index]!;
        c.reasoning = (c.reasoning ?? "") + event.text;
      } else if (event.type === "tool_call")
        pool[event.index]!.toolCalls.push({ id: event.id, name: event.name, arguments: "" });
      else if (event.type === "tool_arguments") pool[event.index]!.toolCalls[event.call]!.arguments += event.text;
      else if (event.type === "finish") {
        const c = pool[event.index]!;
        c.finishReason = event.finishReason;
        if (event.logprobSum !== null && event.completionTokens > 0)
          c.meanLogprob = event.logprobSum / event.completionTokens;
      } else if (event.type === "usage") addUsage(usage, event.usage);
      else if (event.type === "its_diagnostics") its = event.diagnostics;
    }
    // Stable sort: equal scores keep generation order.
    const chosen = candidates > n ? [...pool].sort((a, b) => b.meanLogprob - a.meanLogprob).slice(0, n) : pool;
    chosen.forEach(({ meanLogprob: _score, ...c }, j) => choices.push({ ...c, index: source * n + j, prompt }));
  }
  return { choices, usage, ...(its ? { its } : {}) };
}

/** Events of several generations as they come, each tagged with its generation's position. */
async function* merge(generations: ResponseSource[]): AsyncGenerator<{ source: number; event: ResponseEvent }> {
  const iterators = generations.map((g) => g[Symbol.asyncIterator]());
  const next = (source: number) => iterators[source]!.next().then((result) => ({ source, result }));
  const pending = new Map(iterators.map((_, i) => [i, next(i)]));
  try {
    while (pending.size > 0) {
      const { source, result } = await Promise.race(pending.values());
      if (result.done) pending.delete(source);
      else {
        pending.set(source, next(source));
        yield { source, event: result.value };
      }
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
}

function addUsage(total: Usage, part: Usage): void {
  total.promptTokens += part.promptTokens;
  total.completionTokens += part.completionTokens;
  total.cachedPromptTokens += part.cachedPromptTokens;
}

function record(request: FastifyRequest, choices: FinalChoice[], usage: Usage): void {
  request.facts.finishReason = [...new Set(choices.map((c) => c.finishReason))].join(",");
  request.facts.completionTokens = usage.completionTokens;
  request.facts.cachedPromptTokens = usage.cachedPromptTokens;
}
