// An upstream model in `--config`: a model name served by a group of OpenAI-compatible replicas
// (vLLM, SGLang, TGI, llama-server, other lavash processes) instead of a local GGUF file.
//
//   models:
//     - id: chat
//       replicas:
//         - base_url: http://10.0.0.1:8000/v1   # what an OpenAI client takes as baseURL
//           model: Qwen/Qwen2.5-7B-Instruct     # the upstream's name; default: id
//           api_key_env: VLLM_KEY               # or api_key: ...; none: no Authorization header
//           weight: 2
//           cache_probe: true                   # a lavash replica: ask its /v1/cache/match (exact)
//       fallbacks: [small]                      # other served models, in order
//       routing: { policy: cache_aware }        # cache_aware | least_loaded | round_robin
//
// Keys take `_` or `-` (base_url or base-url), as the rest of the file.
import { z } from "zod";

export type RoutingPolicy = "cache_aware" | "least_loaded" | "round_robin";

export interface RoutingOptions {
  policy: RoutingPolicy;
  /** cache_aware: the matched share of the prompt above which the longest match wins (SGLang: 0.3). */
  cacheThreshold: number;
  /** Load balancing wins once the busiest replica has this many more requests than the idlest... */
  balanceAbsThreshold: number;
  /** ...and more than this many times as many. */
  balanceRelThreshold: number;
  /** Characters each replica's prefix tree keeps; past it the least recently used are evicted. */
  maxTreeChars: number;
  /** cache_aware: seconds a cache probe (replicas with cacheProbe) may take before the tree's estimate is used. */
  probeTimeoutSeconds: number;
}

export interface HealthOptions {
  /** Seconds between active checks; 0: none (passive ejection only). */
  intervalSeconds: number;
  timeoutSeconds: number;
  /** `health`: GET <origin>/health (vLLM, SGLang, TGI, llama-server, lavash); `models`: GET <base_url>/models. */
  endpoint: "health" | "models";
  /** Consecutive failures that eject a replica. */
  failureThreshold: number;
  /** Seconds an ejected replica is left alone before one trial request (half-open). */
  cooldownSeconds: number;
}

export interface ReplicaConfig {
  /** `<model>/<index>` unless named: the label in /metrics and the x-lavash-replica header. */
  name: string;
  baseUrl: string;
  /** The upstream's model name. */
  model: string;
  apiKey: string | null;
  weight: number;
  /**
   * The replica is a lavash process: cache_aware routing asks its POST /v1/cache/match how much
   * of the prompt its KV cache holds (exact) instead of estimating it from the prefix tree.
   */
  cacheProbe: boolean;
}

export interface UpstreamModel {
  id: string;
  replicas: ReplicaConfig[];
  fallbacks: string[];
  routing: RoutingOptions;
  health: HealthOptions;
  /** Further attempts on other replicas after the first fails (before any byte reached the client). */
  retries: number;
  /** Seconds to wait for an upstream's response headers. */
  timeoutSeconds: number;
}

export const DEFAULT_ROUTING: RoutingOptions = {
  policy: "cache_aware",
  cacheThreshold: 0.3,
  balanceAbsThreshold: 64,
  balanceRelThreshold: 1.5,
  maxTreeChars: 4_000_000,
  probeTimeoutSeconds: 0.05,
};

export const DEFAULT_HEALTH: HealthOptions = {
  intervalSeconds: 10,
  timeoutSeconds: 5,
  endpoint: "health",
  failureThreshold: 3,
  cooldownSeconds: 10,
};

const positive = z.number().positive();
const seconds = z.number().min(0);

const replicaEntry = z
  .strictObject({
    name: z.string().min(1).optional(),
    base_url: z.url({ protocol: /^https?$/ }),
    model: z.string().min(1).optional(),
    api_key: z.string().min(1).optional(),
    api_key_env: z.string().min(1).optional(),
    weight: positive.optional(),
    cache_probe: z.boolean().optional(),
  })
  .refine((r) => r.api_key === undefined || r.api_key_env === undefined, {
    message: "give api_key or api_key_env, not both",
  });

export const upstreamEntry = z.strictObject({
  id: z.string().min(1),
  replicas: z.array(replicaEntry).min(1),
  fallbacks: z.array(z.string().min(1)).optional(),
  routing: z
    .strictObject({
      policy: z.enum(["cache_aware", "least_loaded", "round_robin"]).optional(),
      cache_threshold: z.number().min(0).max(1).optional(),
      balance_abs_threshold: z.number().min(0).optional(),
      balance_rel_threshold: z.number().min(1).optional(),
      max_tree_chars: z.int().min(1).optional(),
      probe_timeout: positive.optional(),
    })
    .optional(),
  health_check: z
    .strictObject({
      interval: seconds.optional(),
      timeout: positive.optional(),
      endpoint: z.enum(["health", "models"]).optional(),
      failure_threshold: z.int().min(1).optional(),
      cooldown: seconds.optional(),
    })
    .optional(),
  retries: z.int().min(0).optional(),
  timeout: positive.optional(),
});

/** True for a `models` entry that describes an upstream group (it has `replicas`). */
export function isUpstreamEntry(entry: unknown): boolean {
  return entry !== null && typeof entry === "object" && !Array.isArray(entry) && "replicas" in entry;
}

/** `base-url` → `base_url`, at every depth. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/-/g, "_"), snakeKeys(v)]));
}

/**
 * One upstream entry of the file, checked; `where` names the file and entry in errors. An api key
 * read from the environment must be set when the file is read (a typo fails the start, not the
 * first request).
 */
export function parseUpstreamModel(raw: unknown, where: string, env: NodeJS.ProcessEnv = process.env): UpstreamModel {
  const parsed = upstreamEntry.safeParse(snakeKeys(raw));
  if (!parsed.success) throw new Error(`${where}: ${z.prettifyError(parsed.error)}`);
  const e = parsed.data;
  const replicas = e.replicas.map((r, i): ReplicaConfig => {
    let apiKey: string | null = r.api_key ?? null;
    if (r.api_key_env !== undefined) {
      const value = env[r.api_key_env];
      if (value === undefined || value === "")
        throw new Error(`${where}: replicas[${i}].api_key_env: the environment variable ${r.api_key_env} is not set`);
      apiKey = value;
    }
    return {
      name: r.name ?? `${e.id}/${i}`,
      baseUrl: r.base_url.replace(/\/+$/, ""),
      model: r.model ?? e.id,
      apiKey,
      weight: r.weight ?? 1,
      cacheProbe: r.cache_probe ?? false,
    };
  });
  const names = new Set<string>();
  for (const r of replicas) {
    if (names.has(r.name)) throw new Error(`${where}: two replicas are named '${r.name}'`);
    names.add(r.name);
  }
  const fallbacks = e.fallbacks ?? [];
  if (fallbacks.includes(e.id)) throw new Error(`${where}: fallbacks: '${e.id}' cannot fall back to itself`);
  const ro = e.routing ?? {};
  const hc = e.health_check ?? {};
  return {
    id: e.id,
    replicas,
    fallbacks,
    routing: {
      policy: ro.policy ?? DEFAULT_ROUTING.policy,
      cacheThreshold: ro.cache_threshold ?? DEFAULT_ROUTING.cacheThreshold,
      balanceAbsThreshold: ro.balance_abs_threshold ?? DEFAULT_ROUTING.balanceAbsThreshold,
      balanceRelThreshold: ro.balance_rel_threshold ?? DEFAULT_ROUTING.balanceRelThreshold,
      maxTreeChars: ro.max_tree_chars ?? DEFAULT_ROUTING.maxTreeChars,
      probeTimeoutSeconds: ro.probe_timeout ?? DEFAULT_ROUTING.probeTimeoutSeconds,
    },
    health: {
      intervalSeconds: hc.interval ?? DEFAULT_HEALTH.intervalSeconds,
      timeoutSeconds: hc.timeout ?? DEFAULT_HEALTH.timeoutSeconds,
      endpoint: hc.endpoint ?? DEFAULT_HEALTH.endpoint,
      failureThreshold: hc.failure_threshold ?? DEFAULT_HEALTH.failureThreshold,
      cooldownSeconds: hc.cooldown ?? DEFAULT_HEALTH.cooldownSeconds,
    },
    retries: e.retries ?? 2,
    timeoutSeconds: e.timeout ?? 300,
  };
}

/**
 * Fallbacks name served models (local or upstream); a chain may not loop back. Checked once every
 * model is known (the command line adds local models to the file's).
 */
export function checkFallbacks(upstreams: readonly UpstreamModel[], localIds: readonly string[]): void {
  const known = new Set([...localIds, ...upstreams.map((u) => u.id)]);
  for (const u of upstreams)
    for (const f of u.fallbacks)
      if (!known.has(f)) throw new Error(`models '${u.id}': fallbacks: '${f}' is not a served model`);
}
