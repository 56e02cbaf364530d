// Request fields shared by the chat and legacy completions endpoints: parameter schemas with
// OpenAI's ranges (and vLLM's for the extensions), stream options, and the cross-field rules
// both endpoints apply. Their mapping onto the engine is in sampling-mapping.ts.
import { z } from "zod";
import { invalidRequest } from "./errors.js";

// ---- request parameters (all nullable: the SDKs and many clients send explicit nulls) ----

export const temperatureSchema = z.number().min(0).max(2).nullish();
export const topPSchema = z.number().min(0).max(1).nullish();
export const nSchema = z.int().min(1).max(128).nullish();
export const penaltySchema = z.number().min(-2).max(2).nullish();
/** int64 on the wire; JS safe integers are what the samplers can take anyway. */
export const seedSchema = z.int().nullish();
export const stopSchema = z.union([z.string(), z.array(z.string()).min(1).max(4)]).nullish();
/** Keys are token ids written as non-negative integers. */
export const logitBiasSchema = z.record(z.string().regex(/^\d+$/), z.number().min(-100).max(100)).nullish();
export const streamSchema = z.boolean().nullish();
// Nested option objects ignore unknown keys so a newer SDK's additions do not break requests.
export const streamOptionsSchema = z
  .object({
    include_usage: z.boolean().nullish(),
    include_obfuscation: z.boolean().nullish(),
  })
  .nullish();

// ---- extensions: parameters OpenAI does not define, named and ranged as vLLM names them ----

export type Endpoint = "chat" | "completions";

/** A request parameter lavash accepts beyond OpenAI's API; an OpenAPI generator tags these. */
export interface ExtensionParameter {
  /** Where the name and semantics come from, so clients written for that server work unchanged. */
  origin: "vllm" | "llama.cpp" | "lavash";
  endpoints: readonly Endpoint[];
  description: string;
}

/**
 * Every extension parameter. OpenAI's strict parsing turns unknown names into a 400, and so does
 * lavash, so each extension must be declared in the schemas as well as listed here.
 */
export const EXTENSION_PARAMETERS: Readonly<Record<string, ExtensionParameter>> = {
  top_k: {
    origin: "vllm",
    endpoints: ["chat", "completions"],
    description: "Sample from the k most likely tokens only; -1 or 0 turns it off (the default).",
  },
  min_p: {
    origin: "vllm",
    endpoints: ["chat", "completions"],
    description: "Drop tokens less likely than min_p times the most likely one; 0 turns it off (the default).",
  },
  repetition_penalty: {
    origin: "vllm",
    endpoints: ["chat", "completions"],
    description:
      "Multiplicative penalty on tokens already in the prompt or output (> 0; 1 is off, the default; " +
      "values above 1 discourage repetition, up to about 2 is typical).",
  },
  return_tokens_as_token_ids: {
    origin: "vllm",
    endpoints: ["chat", "completions"],
    description:
      "With logprobs, write each token as 'token_id:<id>' instead of its text, so tokens that are not valid UTF-8 on their own stay identifiable.",
  },
  reasoning_format: {
    origin: "llama.cpp",
    endpoints: ["chat"],
    description:
      "'parsed' (or llama-server's 'deepseek'): text the model writes inside a leading <think>...</think> is returned as " +
      "message.reasoning_content (delta.reasoning_content when streaming) instead of content; 'none' (the default) leaves it in content.",
  },
  best_of: {
    origin: "vllm",
    endpoints: ["chat"],
    description:
      "Generate best_of candidates and return the n with the highest mean token logprob " +
      "(legacy completions define it; for chat it is an extension).",
  },
  its: {
    origin: "lavash",
    endpoints: ["chat", "completions"],
    description:
      "Inference-time scaling: {method: 'power_sampling' | 'smc' | 'best_of_n', ...}. Power sampling samples from p(x)^alpha " +
      "(proposals at temperature 1/alpha; alpha defaults to 1/temperature, else 4); smc runs sequential Monte Carlo over " +
      "particles; best_of_n returns the top_k of n candidates. On chat, a first system message that starts with a PITA code " +
      "(ITS_<CHAIN>_<TOKEN>, e.g. ITS_SMC_10_5_1_PS_192_8) asks for the same; the code is removed from the prompt. " +
      "The response (the final chunk when streaming) carries the run's diagnostics as `its`.",
  },
};

/** -1 and 0 both mean "off": vLLM used -1 and later switched to 0, and clients send either. */
export const topKSchema = z.int().min(-1).nullish();
export const minPSchema = z.number().min(0).max(1).nullish();
/**
 * Any positive value, as vLLM allows: below 1 rewards repetition, which is odd but well defined.
 * zod already refuses non-finite numbers (JSON cannot carry them anyway).
 */
export const repetitionPenaltySchema = z.number().gt(0).nullish();

/** Spread into both request schemas. */
export const samplingExtensionShape = {
  top_k: topKSchema,
  min_p: minPSchema,
  repetition_penalty: repetitionPenaltySchema,
  return_tokens_as_token_ids: z.boolean().nullish(),
};

// ---- cross-field rules ----

export const STREAM_OPTIONS_WITHOUT_STREAM = "The 'stream_options' parameter is only allowed when 'stream' is enabled.";

/** Refinement shared by both endpoints: stream_options only makes sense on a stream. */
export function checkStreamOptions(
  value: { stream?: boolean | null | undefined; stream_options?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (value.stream_options != null && value.stream !== true) {
    ctx.addIssue({
      code: "custom",
      message: STREAM_OPTIONS_WITHOUT_STREAM,
      path: ["stream_options"],
      params: { code: "invalid_value" },
    });
  }
}

export const BEST_OF_BELOW_N = "Invalid value for 'best_of': 'best_of' must be greater than or equal to 'n'.";
export const STREAM_WITH_BEST_OF =
  "Invalid value for 'best_of': 'stream' is not supported when 'best_of' is greater than 'n' " +
  "(the best candidates are only known once all of them have finished).";

/**
 * Refinement shared by both endpoints: best_of must cover n, and the ranking of candidates needs
 * all of them finished, so best_of > n cannot stream (OpenAI: "results cannot be streamed").
 */
export function checkBestOf(
  value: { n?: number | null | undefined; best_of?: number | null | undefined; stream?: boolean | null | undefined },
  ctx: z.RefinementCtx,
): void {
  // 0 is in the legacy spec's range without a stated meaning; it is read as "not given".
  if (value.best_of == null || value.best_of === 0) return;
  const n = value.n ?? 1;
  if (value.best_of < n) {
    ctx.addIssue({ code: "custom", message: BEST_OF_BELOW_N, path: ["best_of"], params: { code: "invalid_value" } });
  } else if (value.best_of > n && value.stream === true) {
    ctx.addIssue({
      code: "custom",
      message: STREAM_WITH_BEST_OF,
      path: ["best_of"],
      params: { code: "invalid_value" },
    });
  }
}

/**
 * The most choices (candidates, with best_of) one request may generate, over all its prompts:
 * n's own maximum, so that every single-prompt request OpenAI accepts is accepted. Legacy prompt
 * arrays multiply it (2,000 prompts x n=64 would be 128,000 generations held by one request).
 */
export const MAX_CHOICES_PER_REQUEST = 128;

/**
 * Refuses (400) a request whose prompts x max(n, best_of) exceeds MAX_CHOICES_PER_REQUEST, naming
 * the parameter to reduce: the prompts when they alone are too many, else best_of or n.
 */
export function checkChoiceCount(
  prompts: number,
  req: { n?: number | null | undefined; best_of?: number | null | undefined },
): void {
  const n = req.n ?? 1;
  const candidates = bestOfCount(req);
  const total = prompts * candidates;
  if (total <= MAX_CHOICES_PER_REQUEST) return;
  if (prompts > MAX_CHOICES_PER_REQUEST)
    throw invalidRequest(
      `Invalid 'prompt': it holds ${prompts} prompts, each with at least one choice, but at most ${MAX_CHOICES_PER_REQUEST} choices ` +
        "are generated per request. Split the prompts over several requests.",
      "prompt",
      "invalid_value",
    );
  const param = candidates > n ? "best_of" : "n";
  throw invalidRequest(
    `Invalid '${param}': this request asks for ${total} choices (${prompts} prompts x ${param} = ${candidates}), but at most ` +
      `${MAX_CHOICES_PER_REQUEST} choices are generated per request. Reduce '${param}' or send fewer prompts per request.`,
    param,
    "invalid_value",
  );
}

/** How many candidates to generate per prompt: best_of when given (0 counts as absent), else n. */
export function bestOfCount(req: { n?: number | null | undefined; best_of?: number | null | undefined }): number {
  const n = req.n ?? 1;
  return req.best_of == null || req.best_of === 0 ? n : req.best_of;
}

/** The stop sequences as a list; empty strings dropped (they would stop before any output). */
export function normalizeStop(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === "string" ? [stop] : stop).filter((s) => s.length > 0);
}

/** Whether a streamed response ends with the `choices: []` usage chunk (and carries usage:null before). */
export function wantsStreamUsage(req: {
  stream?: boolean | null | undefined;
  stream_options?: { include_usage?: boolean | null | undefined } | null | undefined;
}): boolean {
  return req.stream === true && req.stream_options?.include_usage === true;
}
