// POST /v1/completions (legacy) request.
import { z } from "zod";
import {
  checkStreamOptions,
  logitBiasSchema,
  nSchema,
  penaltySchema,
  seedSchema,
  stopSchema,
  streamOptionsSchema,
  streamSchema,
  temperatureSchema,
  topPSchema,
} from "../common.js";
import { isEmpty, never, onlyValues, rejectUnsupported, when, type UnsupportedRule } from "../unsupported.js";
import { parseWith } from "../validation.js";

const tokenId = z.int().min(0);

/** The spec's default when max_tokens is absent or null. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

export const completionRequestSchema = z
  .strictObject({
    model: z.string(),
    // Required but nullable in the spec. OpenAI's null means "<|endoftext|>", i.e. start from
    // nothing; for lavash's models that is the empty prompt, so null becomes "".
    prompt: z
      .union([
        z.string(),
        z.array(z.string()).min(1),
        z.array(tokenId).min(1),
        z.array(z.array(tokenId).min(1)).min(1),
      ])
      .nullable()
      .transform((p) => p ?? ""),
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
    logprobs: z.int().min(0).max(5).nullish(),
    best_of: z.int().min(0).max(20).nullish(),
    suffix: z.string().nullish(),
    presence_penalty: penaltySchema,
    frequency_penalty: penaltySchema,
    logit_bias: logitBiasSchema,
  })
  .superRefine((req, ctx) => {
    checkStreamOptions(req, ctx);
    if (req.best_of != null && req.n != null && req.best_of < req.n) {
      ctx.addIssue({
        code: "custom",
        message: "Invalid value for 'best_of': 'best_of' must be greater than or equal to 'n'.",
        path: ["best_of"],
        params: { code: "invalid_value" },
      });
    }
  });

export type CompletionRequest = z.output<typeof completionRequestSchema>;

/** What legacy requests may carry only as no-ops today; delete a row when it is honoured. */
export const COMPLETIONS_UNSUPPORTED: readonly UnsupportedRule[] = [
  {
    name: "prompt",
    isNoop: (v) => typeof v === "string",
    message: "lavash does not support arrays of prompts or token-id prompts yet: send 'prompt' as a single string.",
  },
  onlyValues("n", [1], "only n=1 is accepted"),
  onlyValues("best_of", [1], "only best_of=1 is accepted"),
  onlyValues("echo", [false]),
  // logprobs: 0 still asks for the sampled token's logprob, so only null is a no-op.
  never("logprobs"),
  never("suffix"),
  onlyValues("presence_penalty", [0]),
  onlyValues("frequency_penalty", [0]),
  when("logit_bias", isEmpty),
];

export interface ParseOptions {
  /** Defaults to COMPLETIONS_UNSUPPORTED; pass [] to validate only. */
  unsupported?: readonly UnsupportedRule[];
}

export function parseCompletionRequest(body: unknown, options: ParseOptions = {}): CompletionRequest {
  const req = parseWith(completionRequestSchema, body);
  rejectUnsupported(req, options.unsupported ?? COMPLETIONS_UNSUPPORTED);
  return req;
}

export function completionMaxTokens(req: Pick<CompletionRequest, "max_tokens">): number {
  return req.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS;
}
