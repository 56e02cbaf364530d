// The `its` request extension (inference-time scaling) of /v1/chat/completions and
// /v1/completions: power sampling, sequential Monte Carlo and best-of-n, snake_case on the wire,
// strict (an unknown key is a 400 naming it). itsSpecFromRequest fills the engine's ItsSpec from
// the parsed object and the request's temperature.
import { z } from "zod";
import type { ItsSpec, PowerSamplingSpec, TokenMetric } from "../../../its/types.js";
import { invalidRequest } from "../errors.js";

/** Inclusive bounds of the integer fields; the PITA system-prompt codes are held to the same. */
export const ITS_LIMITS = {
  block_size: { min: 1, max: 4096 },
  mcmc_steps: { min: 0, max: 1024 },
  num_particles: { min: 1, max: 64 },
  tokens_per_step: { min: 1, max: 4096 },
  n: { min: 1, max: 64 },
} as const;

export const ITS_DEFAULTS = {
  block_size: 192,
  mcmc_steps: 8,
  num_particles: 10,
  tokens_per_step: 5,
  metric: "logprobs",
  resampling: "multinomial",
  ess_threshold: 0.5,
  stop_on_eos: true,
  n: 8,
  top_k: 1,
  /** α when neither alpha nor temperature is given. */
  alpha: 4,
} as const;

export const ALPHA_MIN = 1;
export const ALPHA_MAX = 100;

export const ITS_METRICS = [
  "logprobs",
  "power_distribution",
  "entropy",
  "likelihood_confidence",
] as const satisfies readonly TokenMetric[];

function bounded(field: keyof typeof ITS_LIMITS) {
  const { min, max } = ITS_LIMITS[field];
  return z.int().min(min).max(max);
}

const powerSamplingFields = {
  block_size: bounded("block_size")
    .default(ITS_DEFAULTS.block_size)
    .describe("Tokens per block; a Metropolis-Hastings pass follows each block."),
  mcmc_steps: bounded("mcmc_steps")
    .default(ITS_DEFAULTS.mcmc_steps)
    .describe("Metropolis-Hastings steps after each block."),
  alpha: z
    .number()
    .min(ALPHA_MIN)
    .max(ALPHA_MAX)
    .nullish()
    .describe(
      "Exponent of the target p(x)^alpha; proposals are sampled at temperature 1/alpha. Default: 1/temperature when temperature is given, else 4.",
    ),
};

const powerSamplingOptions = z
  .strictObject(powerSamplingFields)
  .describe("Draw the tokens by power sampling instead of plain sampling.");

const metricSchema = z
  .enum(ITS_METRICS)
  .default(ITS_DEFAULTS.metric)
  .describe("Per-token score the candidates are ranked or weighted by.");

const powerSamplingMethod = z
  .strictObject({ method: z.literal("power_sampling"), ...powerSamplingFields })
  .describe("Power sampling: target p(x)^alpha, blockwise Metropolis-Hastings over proposals at temperature 1/alpha.");

const smcMethod = z
  .strictObject({
    method: z.literal("smc"),
    num_particles: bounded("num_particles").default(ITS_DEFAULTS.num_particles),
    tokens_per_step: bounded("tokens_per_step").default(ITS_DEFAULTS.tokens_per_step),
    metric: metricSchema,
    resampling: z.enum(["multinomial", "systematic"]).default(ITS_DEFAULTS.resampling),
    ess_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(ITS_DEFAULTS.ess_threshold)
      .describe(
        "Resample when the effective sample size falls below this fraction of the unfinished particles; 1: every step.",
      ),
    stop_on_eos: z
      .boolean()
      .default(ITS_DEFAULTS.stop_on_eos)
      .describe("false: a particle may not end before max_tokens."),
    power_sampling: powerSamplingOptions.nullish(),
  })
  .describe("Sequential Monte Carlo over num_particles particles, tokens_per_step tokens per step.");

export const ITS_TOP_K_ABOVE_N = "Invalid value for 'its.top_k': 'top_k' must be less than or equal to 'n'.";

const bestOfNMethod = z
  .strictObject({
    method: z.literal("best_of_n"),
    n: bounded("n").default(ITS_DEFAULTS.n),
    metric: metricSchema,
    top_k: z
      .int()
      .min(1)
      .max(ITS_LIMITS.n.max)
      .default(ITS_DEFAULTS.top_k)
      .describe("How many of the best candidates are returned, best first (<= n)."),
    power_sampling: powerSamplingOptions.nullish(),
  })
  .superRefine((value, ctx) => {
    if (value.top_k > value.n) {
      ctx.addIssue({ code: "custom", message: ITS_TOP_K_ABOVE_N, path: ["top_k"], params: { code: "invalid_value" } });
    }
  })
  .describe("Best-of-n: n candidates scored by the metric, the top_k best returned.");

/** The `its` object of both request schemas (nullish there, as every optional parameter). */
export const itsSchema = z.discriminatedUnion("method", [powerSamplingMethod, smcMethod, bestOfNMethod]);

/** `its` as parsed: defaults filled, snake_case as on the wire. */
export type ItsParams = z.output<typeof itsSchema>;
export type ItsMethod = ItsParams["method"];
export type ItsPowerSamplingParams = z.output<typeof powerSamplingOptions>;

/** Temperatures closer than this count as equal (1/alpha is rarely exact in binary). */
const TEMPERATURE_TOLERANCE = 1e-9;

/**
 * The engine's ItsSpec for a parsed `its` object and the request's temperature (null/undefined:
 * not given). Power sampling samples at T = 1/alpha, so alpha defaults to 1/temperature (else 4),
 * and a temperature that contradicts an explicit alpha is a 400. Without power sampling (smc,
 * best_of_n) the temperature is only the proposal temperature. Temperature 0 is refused for any
 * method: every one needs a stochastic proposal.
 */
export function itsSpecFromRequest(its: ItsParams, temperature: number | null | undefined): ItsSpec {
  const t = temperature ?? undefined;
  if (t === 0) {
    throw invalidRequest(
      `Invalid value for 'temperature': inference-time scaling ('its' method '${its.method}') needs a stochastic proposal, so temperature must be greater than 0.`,
      "temperature",
      "invalid_value",
    );
  }
  switch (its.method) {
    case "power_sampling":
      return { method: "power_sampling", power: powerSpec(its, t) };
    case "smc": {
      const spec: ItsSpec = {
        method: "smc",
        particles: its.num_particles,
        tokensPerStep: its.tokens_per_step,
        metric: its.metric,
        resampling: its.resampling,
        essThreshold: its.ess_threshold,
        stopOnEos: its.stop_on_eos,
      };
      if (its.power_sampling != null) spec.power = powerSpec(its.power_sampling, t);
      return spec;
    }
    case "best_of_n": {
      const spec: ItsSpec = { method: "best_of_n", n: its.n, metric: its.metric, keepBest: its.top_k };
      if (its.power_sampling != null) spec.power = powerSpec(its.power_sampling, t);
      return spec;
    }
  }
}

function powerSpec(ps: ItsPowerSamplingParams, temperature: number | undefined): PowerSamplingSpec {
  return {
    blockSize: ps.block_size,
    mcmcSteps: ps.mcmc_steps,
    alpha: resolveAlpha(ps.alpha ?? undefined, temperature),
  };
}

/** alpha ?? 1/temperature ?? 4, with the two required to agree when both are given. */
export function resolveAlpha(alpha: number | undefined, temperature: number | undefined): number {
  if (alpha !== undefined) {
    if (temperature !== undefined && Math.abs(temperature - 1 / alpha) > TEMPERATURE_TOLERANCE) {
      throw invalidRequest(
        `Invalid value for 'temperature': power sampling samples at T = 1/alpha, so with alpha ${alpha} the temperature must be ` +
          `${1 / alpha} (or left out), but got ${temperature}.`,
        "temperature",
        "invalid_value",
      );
    }
    return alpha;
  }
  if (temperature === undefined) return ITS_DEFAULTS.alpha;
  const derived = 1 / temperature;
  // The same bounds as an explicit alpha: T above 1 would flatten the distribution, not sharpen it.
  if (derived < ALPHA_MIN - TEMPERATURE_TOLERANCE || derived > ALPHA_MAX + TEMPERATURE_TOLERANCE) {
    throw invalidRequest(
      `Invalid value for 'temperature': power sampling samples at T = 1/alpha with alpha between ${ALPHA_MIN} and ${ALPHA_MAX}, ` +
        `so the temperature must be between ${1 / ALPHA_MAX} and ${1 / ALPHA_MIN}, but got ${temperature}. Give 'alpha' instead, or leave the temperature out.`,
      "temperature",
      "invalid_value",
    );
  }
  return derived;
}
