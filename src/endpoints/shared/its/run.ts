// An inference-time scaling run behind the same Generation interface as a plain generation, so
// the routes' response code (bodies, streams, usage, cancellation) serves both. The run settles
// before any text goes out: choices are complete answers, sent as one text event each; while it
// works, progress events become SSE comments.
import { randomInt } from "node:crypto";
import { EventChannel } from "../../../engine/event-channel.js";
import { EngineError } from "../../../engine/errors.js";
import type { Engine, GenerateRequest, ScalingSession } from "../../../engine/types.js";
import { worstCaseTokens } from "../../../its/budget.js";
import { metricNeedsEntropy } from "../../../its/metrics.js";
import { runIts } from "../../../its/run.js";
import type { ItsSpec } from "../../../its/types.js";
import { ApiError, invalidRequest } from "../errors.js";
import type { ResponseEvent, ResponseSource } from "../respond.js";
import { wireItsDiagnostics } from "./diagnostics.js";

export interface ScaledPlan {
  spec: ItsSpec;
  /** Power sampling: independent chains, one choice each. */
  n: number;
  /** Choices the run returns: n chains, best-of-N's top_k, SMC's one answer. */
  choices: number;
  /** Most tokens one request may make the model evaluate (--its-max-tokens). */
  maxTokensEvaluated: number;
}

type PlainRequest = Pick<GenerateRequest, "model" | "prompt" | "maxTokens" | "sampling">;

export async function startScaledGeneration(
  engine: Engine,
  request: PlainRequest,
  plan: ScaledPlan,
  signal: AbortSignal,
): Promise<ResponseSource> {
  if (!engine.startScaling)
    throw invalidRequest(
      `Model '${request.model}' is served by an upstream engine: 'its' needs a local model.`,
      "its",
      "unsupported",
    );
  const { spec, n } = plan;
  const temperature = proposalTemperature(spec, request.sampling.temperature);
  // One seed for the chains' samplers and the algorithm's own draws: a seeded request repeats exactly.
  const seed = request.sampling.seed ?? randomInt(2 ** 32);
  const session = await engine.startScaling({
    model: request.model,
    prompt: request.prompt,
    sampling: { ...request.sampling, temperature, seed },
    maxTokens: request.maxTokens,
    entropy: needsEntropy(spec),
    signal,
    admit: (promptTokens, maxTokens) => {
      const worst = worstCaseTokens(spec, promptTokens, maxTokens, n);
      if (worst > plan.maxTokensEvaluated)
        throw new ApiError(
          400,
          `This 'its' request could make the model evaluate up to ${worst} tokens (${promptTokens} in the prompt, answers of up to ${maxTokens} tokens), ` +
            `more than the ${plan.maxTokensEvaluated} this server allows per request (--its-max-tokens). Lower max_tokens, n, mcmc_steps, num_particles or the number of candidates.`,
          { param: "its", code: "its_budget_exceeded" },
        );
    },
  });
  const channel = new EventChannel<ResponseEvent>(() => undefined);
  void run(session, plan, temperature, seed, signal, channel);
  return Object.assign(channel, { promptTokens: session.promptTokens });
}

async function run(
  session: ScalingSession,
  plan: ScaledPlan,
  temperature: number,
  seed: number,
  signal: AbortSignal,
  channel: EventChannel<ResponseEvent>,
): Promise<void> {
  try {
    const result = await runIts(session, plan.spec, {
      temperature,
      seed,
      n: plan.n,
      signal,
      onProgress: (progress) => channel.push({ type: "its_progress", progress }),
    });
    channel.push({ type: "its_diagnostics", diagnostics: wireItsDiagnostics(result.diagnostics) });
    result.choices.forEach((choice, index) => {
      channel.push({ type: "text", index, text: session.detokenize(choice.tokens), logprobs: null });
      channel.push({
        type: "finish",
        index,
        finishReason: choice.finishReason,
        completionTokens: choice.tokens.length,
        logprobSum: null,
      });
    });
    channel.push({
      type: "usage",
      // completion_tokens counts every token sampled (rejected proposals, other particles), as
      // OpenAI's best_of counts every candidate: the answers' own lengths are in the choices.
      usage: {
        promptTokens: session.promptTokens,
        completionTokens: result.diagnostics.tokensSampled,
        cachedPromptTokens: session.cachedPromptTokens,
      },
    });
    channel.end();
  } catch (error) {
    channel.end(signal.aborted ? new EngineError("aborted", "The request was cancelled.") : error);
  } finally {
    session.close();
  }
}

/** Power sampling draws at T = 1/α (alone, or as the proposal of SMC or best-of-N); otherwise at the request's temperature. */
function proposalTemperature(spec: ItsSpec, temperature: number): number {
  return spec.power ? 1 / spec.power.alpha : temperature;
}

function needsEntropy(spec: ItsSpec): boolean {
  return spec.method !== "power_sampling" && metricNeedsEntropy(spec.metric);
}
