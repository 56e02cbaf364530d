// Response bodies, as zod schemas for the OpenAPI document. The server builds its responses from
// plain TypeScript types (src/endpoints/*/response.ts), so each schema here is checked at compile time
// to describe every value of the type the server sends (`Describes`), and the openapi test
// validates real responses against the generated JSON Schemas.
import { z } from "zod";
import type { ChatCompletion, ChatCompletionChunk } from "../../endpoints/chat-completions/response.js";
import type { Completion, CompletionChoice, CompletionFinishReason } from "../../endpoints/completions/response.js";
import type { WireUsage } from "../../endpoints/shared/response-fields.js";
import type { EmbeddingList } from "../../endpoints/embeddings/response.js";
import type { ErrorBody } from "../../endpoints/shared/errors.js";
import type { WireItsDiagnostics } from "../../endpoints/shared/its/diagnostics.js";
import type { ModelStateBody } from "../../endpoints/admin/response.js";
import type { ModelList, ModelObject } from "../../endpoints/models/response.js";
import type { DetokenizeResponse, TokenizeResponse } from "../../endpoints/tokenize/response.js";
import type { CacheMatchResponse } from "../../endpoints/cache-match/response.js";
import type { EngineStatus } from "../../engine/types.js";

/**
 * `S`, or `never` (a compile error where a schema is declared with it) unless every `T` the
 * server sends is a value of the schema's type: a field added to a response type must be added
 * to its schema too.
 */
type Describes<S extends z.ZodType, T> = [T] extends [z.output<S>] ? S : never;

const count = z.int().min(0);

const errorResponse = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

const usage = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  total_tokens: count,
  prompt_tokens_details: z.object({ cached_tokens: count }),
});

// ---- inference-time scaling (the `its` extension) ----

const itsDiagnostics = z
  .object({
    method: z.string().describe("The `its` method that ran: power_sampling, smc or best_of_n."),
    tokens_evaluated: count.describe(
      "Tokens the model evaluated for the request: the prompt once, re-evaluations, every decode.",
    ),
    prompt_tokens_evaluated: count.describe(
      "Of tokens_evaluated, those evaluated as prompt: the prompt once and chain tokens evaluated again.",
    ),
    tokens_sampled: count.describe("Tokens sampled, proposals included."),
    wall_time_ms: z.number().min(0),
    power_sampling: z
      .object({
        acceptance_rate: z
          .number()
          .min(0)
          .max(1)
          .nullable()
          .describe("Accepted / proposed Metropolis-Hastings moves; null when none was proposed."),
        chains: z
          .array(z.array(z.object({ length: count, proposals: count, accepted: count, skipped: count })))
          .describe("Per chain, per block: the chain's length after the block and its Metropolis-Hastings counts."),
      })
      .optional(),
    smc: z
      .object({
        steps: count,
        resampling: z
          .array(
            z.object({
              step: count,
              ess: z.number(),
              ancestors: z.array(count).describe("For each particle slot, the particle it now copies."),
            }),
          )
          .describe("Each resampling: the step, the effective sample size before it, the ancestors."),
        final_weights: z.array(z.number()),
        final_scores: z.array(z.number()),
      })
      .optional(),
    best_of_n: z
      .object({
        scores: z.array(z.number()).describe("Each candidate's score (the metric's mean per token)."),
        chosen: z.array(count).describe("The candidates returned, best first."),
      })
      .optional(),
  })
  .describe("Extension: what the inference-time scaling run (`its`) did.");

// ---- chat ----

const chatTopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.int()).nullable() });
const chatTokenLogprob = chatTopLogprob.extend({ top_logprobs: z.array(chatTopLogprob) });
const chatChoiceLogprobs = z.object({
  content: z.array(chatTokenLogprob).nullable(),
  refusal: z.array(chatTokenLogprob).nullable(),
});
const chatFinishReason = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]);
const completionCommon = {
  id: z.string(),
  created: z.int(),
  model: z.string(),
  system_fingerprint: z.string(),
};

const chatCompletion = z.object({
  ...completionCommon,
  object: z.literal("chat.completion"),
  choices: z.array(
    z.object({
      index: count,
      message: z.object({
        role: z.literal("assistant"),
        content: z.string().nullable(),
        refusal: z.string().nullable(),
        tool_calls: z
          .array(
            z.object({
              id: z.string(),
              type: z.literal("function"),
              function: z.object({ name: z.string(), arguments: z.string() }),
            }),
          )
          .optional(),
        function_call: z
          .object({ name: z.string(), arguments: z.string() })
          .optional()
          .describe("The deprecated function calling (`functions`): the call, instead of tool_calls."),
        reasoning_content: z
          .string()
          .nullable()
          .optional()
          .describe("Extension (reasoning_format): the model's <think> text."),
      }),
      logprobs: chatChoiceLogprobs.nullable(),
      finish_reason: chatFinishReason,
    }),
  ),
  usage,
  its: itsDiagnostics.optional(),
});

const chatCompletionChunk = z.object({
  ...completionCommon,
  object: z.literal("chat.completion.chunk"),
  choices: z.array(
    z.object({
      index: count,
      delta: z.object({
        role: z.literal("assistant").optional(),
        content: z.string().nullable().optional(),
        refusal: z.null().optional(),
        reasoning_content: z.string().optional(),
        tool_calls: z
          .array(
            z.object({
              index: count,
              id: z.string().optional(),
              type: z.literal("function").optional(),
              function: z.object({ name: z.string().optional(), arguments: z.string() }),
            }),
          )
          .optional(),
        function_call: z
          .object({ name: z.string().optional(), arguments: z.string() })
          .optional()
          .describe("The deprecated function calling: the first delta has the name, later ones arguments."),
      }),
      logprobs: chatChoiceLogprobs.nullable(),
      finish_reason: chatFinishReason.nullable(),
    }),
  ),
  usage: usage
    .nullable()
    .optional()
    .describe("With stream_options.include_usage: null on every chunk but the last, which has no choices."),
  its: itsDiagnostics.optional().describe("With `its`: the run's diagnostics, on the final chunk only."),
});

// ---- legacy completions ----

const legacyLogprobs = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()),
  text_offset: z.array(count),
});
const completionFinishReason = z.enum(["stop", "length", "content_filter"]);

function textCompletion<F extends z.ZodType, U extends z.ZodType>(finishReason: F, usageField: U) {
  return z.object({
    ...completionCommon,
    object: z.literal("text_completion"),
    choices: z.array(
      z.object({ text: z.string(), index: count, logprobs: legacyLogprobs.nullable(), finish_reason: finishReason }),
    ),
    usage: usageField,
    its: itsDiagnostics.optional(),
  });
}

const completion = textCompletion(completionFinishReason, usage);
/** The legacy API names its stream chunks `text_completion` too. */
const completionChunk = textCompletion(
  completionFinishReason.nullable(),
  usage.nullable().optional().describe("With stream_options.include_usage: null on every chunk but the last."),
);

// ---- embeddings, models, tokenize ----

const embeddingList = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({
      object: z.literal("embedding"),
      index: count,
      embedding: z.union([
        z.array(z.number()),
        z.string().describe("encoding_format base64: the little-endian float32 bytes"),
      ]),
    }),
  ),
  model: z.string(),
  usage: z.object({ prompt_tokens: count, total_tokens: count }),
});

const model = z.object({ id: z.string(), object: z.literal("model"), created: z.int(), owned_by: z.string() });

const modelList = z.object({ object: z.literal("list"), data: z.array(model) });

const modelStatus = z.enum(["loaded", "unloaded", "removed"]);
const modelState = z.object({ id: z.string(), object: z.literal("model"), status: modelStatus });
const loadedModel = model.extend({ status: modelStatus });

const tokenizeResponse = z.object({
  count,
  max_model_len: count,
  tokens: z.array(count),
  token_strs: z
    .array(z.string())
    .nullable()
    .describe("Each token's text decoded alone; null unless return_token_strs."),
});

const detokenizeResponse = z.object({ prompt: z.string() });

const cacheMatch = z.object({
  model: z.string(),
  prompt_tokens: count.describe(
    "The prompt's tokens as the request would evaluate them (summed over several prompts).",
  ),
  cached_tokens: count.describe("Of those, the ones the request, sent now, would reuse from the KV cache."),
});

// ---- operations ----

const health = z.object({ status: z.literal("ok") });

const status = z.object({
  state: z.enum(["loading", "ready", "failed"]),
  models: z.array(z.string()),
  sequences: z.array(
    z.object({
      id: z.int(),
      state: z.enum(["idle", "prefill", "decode"]),
      model: z.string(),
      promptTokens: count,
      generatedTokens: count,
    }),
  ),
  queued: count,
  stats: z.object({
    decodeSteps: count,
    sequencesDecoded: count,
    promptTokensEvaluated: count,
    tokensGenerated: count,
  }),
  runtime: z
    .object({
      binaries: z.enum(["prebuilt", "local build"]),
      llamaCpp: z.string(),
      gpu: z.union([z.string(), z.literal(false)]),
      cpuFeatures: z.string(),
    })
    .optional()
    .describe(
      "The llama.cpp build doing the work (a local build from source is used instead of the prebuilt binaries while it exists)",
    ),
  meanSequencesPerDecode: z.number().min(0),
});

// ---- checked against the server's types ----

export const itsDiagnosticsSchema: Describes<typeof itsDiagnostics, WireItsDiagnostics> = itsDiagnostics;
export const errorResponseSchema: Describes<typeof errorResponse, ErrorBody> = errorResponse;
export const chatCompletionSchema: Describes<typeof chatCompletion, ChatCompletion> = chatCompletion;
export const chatCompletionChunkSchema: Describes<typeof chatCompletionChunk, ChatCompletionChunk> =
  chatCompletionChunk;
/** buildCompletion's result: every choice finished, usage always there. */
type FullCompletion = Omit<Completion, "choices" | "usage"> & {
  choices: (CompletionChoice & { finish_reason: CompletionFinishReason })[];
  usage: WireUsage;
};
export const completionSchema: Describes<typeof completion, FullCompletion> = completion;
export const completionChunkSchema: Describes<typeof completionChunk, Completion> = completionChunk;
export const embeddingListSchema: Describes<typeof embeddingList, EmbeddingList> = embeddingList;
export const modelSchema: Describes<typeof model, ModelObject> = model;
export const modelListSchema: Describes<typeof modelList, ModelList> = modelList;
export const modelStateSchema: Describes<typeof modelState, ModelStateBody> = modelState;
export const loadedModelSchema: Describes<typeof loadedModel, ModelObject & ModelStateBody> = loadedModel;
export const tokenizeResponseSchema: Describes<typeof tokenizeResponse, TokenizeResponse> = tokenizeResponse;
export const detokenizeResponseSchema: Describes<typeof detokenizeResponse, DetokenizeResponse> = detokenizeResponse;
export const cacheMatchSchema: Describes<typeof cacheMatch, CacheMatchResponse> = cacheMatch;
export const statusSchema: Describes<typeof status, EngineStatus & { meanSequencesPerDecode: number }> = status;
export const healthSchema: Describes<typeof health, { status: "ok" }> = health;
