// A ContextScheduler on a fresh context of the tiny model, and the plain jobs the scheduler's
// tests submit to it: one place for what every such test builds the same way.
import type { Token } from "node-llama-cpp";
import { EventChannel } from "../../src/engine/event-channel.js";
import { ContextScheduler, type SchedulerOptions } from "../../src/engine/llama/scheduler.js";
import { type Job, type JobSpec, newJob } from "../../src/engine/llama/sequence.js";
import { TokenPieces } from "../../src/engine/llama/token-pieces.js";
import type { GenerationEvent } from "../../src/engine/types.js";
import type { LoadedTinyModel } from "./tiny-model.js";

export interface TinyScheduler {
  scheduler: ContextScheduler;
  /** Closes the scheduler, then disposes of its context. */
  close(): Promise<void>;
}

/**
 * A scheduler over a new context of `parallel` sequences (2 compute threads); the context's size
 * and batch come from `contextSize` and `batchSize` (default 1,024 and 512), the rest of the
 * options as given.
 */
export async function tinyScheduler(
  tiny: LoadedTinyModel,
  options: Omit<SchedulerOptions, "contextSize" | "batchSize"> & { contextSize?: number; batchSize?: number },
): Promise<TinyScheduler> {
  const { contextSize = 1024, batchSize = 512, ...rest } = options;
  const context = await tiny.model.createContext({ sequences: rest.parallel, contextSize, batchSize, threads: 2 });
  const scheduler = new ContextScheduler(tiny.llama, tiny.model, context, new TokenPieces(tiny.model), "tiny", {
    ...rest,
    contextSize: context.contextSize,
    batchSize: context.batchSize,
  });
  return {
    scheduler,
    close: async () => {
      await scheduler.close();
      await context.dispose();
    },
  };
}

/** A one-choice job: no stops, no logprobs, no echo, reproducible, a channel nobody cancels; `spec` overrides. */
export function plainJob(
  promptTokens: readonly Token[],
  maxTokens: number,
  spec: Partial<Omit<JobSpec, "promptTokens" | "maxTokens">> = {},
): Job {
  return newJob(
    {
      promptTokens,
      maxTokens,
      stop: [],
      samplers: [{ temperature: 0 }],
      logprobs: null,
      scoreChoices: false,
      echo: false,
      reproducible: true,
      channel: new EventChannel<GenerationEvent>(() => {}),
      ...spec,
    },
    1,
  );
}

/** Reads a job's events to the end. */
export async function drain(job: Job): Promise<void> {
  for await (const _ of job.channel);
}
