// POST /v1/completions (legacy) request, plus vLLM's sampling extensions (EXTENSION_PARAMETERS).
import { z } from "zod";
import {
  checkBestOf,
  checkStreamOptions,
  logitBiasSchema,
  nSchema,
  penaltySchema,
  samplingExtensionShape,
  seedSchema,
  stopSchema,
  streamOptionsSchema,
  streamSchema,
  temperatureSchema,
  topPSchema,
} from "../shared/request-fields.js";
import { itsSchema } from "../shared/its/schema.js";
import { rejectUnsupported, type UnsupportedRule } from "../shared/unsupported.js";
import { parseWith } from "../shared/validation.js";

const tokenId = z.int().min(0);

/**
 * An array branch of the prompt union that applies only when the first element has its kind.
 * A plain union would report, for `[-1]`, the string-array branch's "expected a string" rather
 * than the token branch's range error; a failed guard is a top-level type mismatch, which the
 * union error mapping skips in favour of the branch the client meant.
 */
function arrayWhenFirst<T extends z.ZodType<unknown, unknown[]>>(matches: (first: unknown) => boolean, schema: T) {
  return z
    .array(z.unknown())
    .superRefine((items, ctx) => {
      if (items.length > 0 && !matches(items[0])) {
        ctx.addIssue({ code: "invalid_type", expected: "array", input: items, path: [] });
      }
    })
    .pipe(schema);
}

const promptSchema = z
  .union([
    z.string(),
    // Elements that are neither numbers nor arrays are reported against the string form.
    arrayWhenFirst((first) => typeof first !== "number" && !Array.isArray(first), z.array(z.string()).min(1)),
    arrayWhenFirst((first) => typeof first === "number", z.array(tokenId).min(1)),
    arrayWhenFirst(Array.isArray, z.array(z.array(tokenId).min(1)).min(1)),
  ])
  // Required but nullable in the spec. OpenAI's null means "<|endoftext|>", i.e. start from
  // nothing; for lavash's models that is the empty prompt, so null becomes "".
  .nullable()
  .transform((p) => p ?? "");

/** The spec's default when max_tokens is absent or null. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

export const completionRequestSchema = z
  .strictObject({
    model: z.string(),
    prompt: promptSchema,
    max_tokens: z.int().min(0).nullish(),
    temperature: temperatureSchema,
    top_p: topPSchema,
    n: nSchema,
    stream: streamSchema,
    stream_options: streamOptionsSchema,
    stop: stopSchema,
    seed: seedSchema,
    user: z.string().nullish(),
    echo: z.boolean().nullish(),
    // null: off; 0: the sampled token's logprob only; k: plus the k most likely alternatives.
    logprobs: z.int().min(0).max(5).nullish(),
    best_of: z.int().min(0).max(20).nullish(),
    // Insertion (fill-in-the-middle): the engine refuses it for models without FIM tokens.
    suffix: z.string().nullish(),
    presence_penalty: penaltySchema,
    frequency_penalty: penaltySchema,
    logit_bias: logitBiasSchema,

    // Extensions (EXTENSION_PARAMETERS): vLLM's names and ranges.
    ...samplingExtensionShape,
    // lavash's own extension: inference-time scaling.
    its: itsSchema.nullish(),
  })
  .superRefine((req, ctx) => {
    checkStreamOptions(req, ctx);
    checkBestOf(req, ctx);
  });

export type CompletionRequest = z.output<typeof completionRequestSchema>;

/**
 * What legacy requests may carry only as no-ops; empty now that every parameter is honoured,
 * kept so that a parameter OpenAI adds later can be declared before it is implemented.
 */
export const COMPLETIONS_UNSUPPORTED: readonly UnsupportedRule[] = [];

export interface ParseOptions {
  /** Defaults to COMPLETIONS_UNSUPPORTED; pass [] to validate only. */
  unsupported?: readonly UnsupportedRule[];
}

export function parseCompletionRequest(body: unknown, options: ParseOptions = {}): CompletionRequest {
  const req = parseWith(completionRequestSchema, body);
  rejectUnsupported(req, options.unsupported ?? COMPLETIONS_UNSUPPORTED);
  return req;
}
