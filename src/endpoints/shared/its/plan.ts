// Which requests an `its` run can serve, and its plan. A scaling run returns whole answers chosen
// by the method: per-token logprobs, echo, stop strings, grammars and best_of have no meaning
// there yet, so each is a 400 naming it (never ignored). The methods' scores describe the model
// at the sampling temperature with logit_bias only, so the sampling cuts and penalties are
// refused too.
import { invalidRequest } from "../errors.js";
import { itsSpecFromRequest, type ItsParams } from "./schema.js";
import type { ScaledPlan } from "./run.js";

/** Fields both endpoints share that matter here (null/undefined: not given). */
export interface ItsRequestFields {
  temperature?: number | null;
  n?: number | null;
  best_of?: number | null;
  stop?: string | string[] | null;
  logprobs?: boolean | number | null;
  top_logprobs?: number | null;
  echo?: boolean | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
}

export interface ItsServerLimits {
  /** Most tokens one request may make the model evaluate (--its-max-tokens). */
  maxTokensEvaluated: number;
}

export const DEFAULT_ITS_MAX_TOKENS = 200_000;

/** `refused`: further fields the endpoint cannot combine with `its`, as [given, name]. */
export function itsPlan(
  its: ItsParams,
  body: ItsRequestFields,
  limits: ItsServerLimits,
  refused: [boolean, string][] = [],
): ScaledPlan {
  const spec = itsSpecFromRequest(its, body.temperature);
  const n = body.n ?? 1;
  const stops = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  const checks: [boolean, string, string][] = [
    [
      n > 1 && spec.method !== "power_sampling",
      "n",
      `'n' > 1 works with 'its' power_sampling (independent chains); for several answers of '${spec.method}' use ${spec.method === "best_of_n" ? "'its.top_k'" : "separate requests"}.`,
    ],
    [
      body.best_of != null && body.best_of > 1,
      "best_of",
      "'best_of' cannot be combined with 'its': use 'its' method best_of_n.",
    ],
    [
      stops.some((s) => s.length > 0),
      "stop",
      "'stop' cannot be combined with 'its': the methods score whole answers, which a stop string would cut.",
    ],
    [
      body.logprobs === true || typeof body.logprobs === "number",
      "logprobs",
      "'logprobs' cannot be combined with 'its': the response's 'its' field reports the run's scores.",
    ],
    [(body.top_logprobs ?? 0) > 0, "top_logprobs", "'top_logprobs' cannot be combined with 'its'."],
    [
      spec.method === "smc" && !spec.stopOnEos,
      "its.stop_on_eos",
      "'its.stop_on_eos' false is not supported: a chain ends at the model's end of turn. To keep particles going to max_tokens, ban the end-of-turn token with 'logit_bias'.",
    ],
    [body.echo === true, "echo", "'echo' cannot be combined with 'its'."],
    ...refused.map(([given, name]): [boolean, string, string] => [
      given,
      name,
      `'${name}' cannot be combined with 'its'.`,
    ]),
  ];
  for (const [given, param, message] of checks) if (given) throw invalidRequest(message, param);
  for (const [given, param, message] of samplingRefusals(body))
    if (given) throw invalidRequest(message, param, "invalid_value");
  const choices = spec.method === "power_sampling" ? n : spec.method === "best_of_n" ? spec.keepBest : 1;
  return { spec, n, choices, maxTokensEvaluated: limits.maxTokensEvaluated };
}

/**
 * A nucleus, top-k or min-p cut, or a penalty, would change each step's distribution without the
 * scores saying so (and power sampling would then target something else than p^alpha).
 */
function samplingRefusals(body: ItsRequestFields): [boolean, string, string][] {
  const refused: [boolean, string][] = [
    [(body.top_p ?? 1) < 1, "top_p"],
    [(body.top_k ?? 0) > 0, "top_k"],
    [(body.min_p ?? 0) > 0, "min_p"],
    [(body.presence_penalty ?? 0) !== 0, "presence_penalty"],
    [(body.frequency_penalty ?? 0) !== 0, "frequency_penalty"],
    [(body.repetition_penalty ?? 1) !== 1, "repetition_penalty"],
  ];
  return refused.map(([given, param]) => [
    given,
    param,
    `'${param}' cannot be combined with 'its': the scaling methods score tokens under the model at the sampling temperature with logit_bias only.`,
  ]);
}
