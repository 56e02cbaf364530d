// Exact cache-aware routing for lavash replicas (replicas with `cache_probe: true`): before a
// request is routed, each candidate is asked POST <base_url>/cache/match with the request's own
// body (model renamed), and answers how many of the prompt's tokens its KV cache holds now, as
// its engine would reuse them (src/endpoints/cache-match/). The probes run in parallel under a
// short timeout; a replica that fails or is late is routed by its prefix tree's estimate instead.
import type { UpstreamGroup } from "./gateway.js";
import type { GatewayMetrics } from "./metrics.js";
import type { ProbedRatios, Replica } from "./router.js";
import { upstreamHeaders, upstreamUrl } from "./upstream-client.js";

/** The routes whose prompt a lavash replica can match against its cache (embeddings keep no KV cache). */
export const PROBED_ROUTES: ReadonlySet<string> = new Set(["/v1/chat/completions", "/v1/completions", "/v1/responses"]);

/** The share of the prompt each of `replicas` holds; replicas whose probe failed are left out. */
export async function probeCaches(
  group: UpstreamGroup,
  replicas: readonly Replica[],
  body: Record<string, unknown>,
  signal: AbortSignal,
  metrics: GatewayMetrics | null,
): Promise<ProbedRatios> {
  const timeoutMs = group.config.routing.probeTimeoutSeconds * 1000;
  const found = new Map<Replica, number>();
  await Promise.all(
    replicas.map(async (replica) => {
      const l = { model: group.config.id, replica: replica.config.name };
      metrics?.probes.inc(l);
      const started = performance.now();
      const outcome = await probeOne(replica, body, signal, timeoutMs);
      if (typeof outcome === "number") {
        metrics?.probeSeconds.observe(l, (performance.now() - started) / 1000);
        found.set(replica, outcome);
      } else if (!signal.aborted) metrics?.probeFailures.inc({ ...l, kind: outcome });
    }),
  );
  return found;
}

/** The replica's cached share of the prompt (0..1), or why there is none. */
async function probeOne(
  replica: Replica,
  body: Record<string, unknown>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<number | "timeout" | "error"> {
  const { config } = replica;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(upstreamUrl(config, "/v1/cache/match"), {
      method: "POST",
      headers: upstreamHeaders(config, true),
      body: JSON.stringify({ ...body, model: config.model }),
      signal: AbortSignal.any([signal, timeout]),
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return "error";
    }
    const answer = (await response.json()) as { prompt_tokens?: unknown; cached_tokens?: unknown };
    const prompt = answer.prompt_tokens;
    const cached = answer.cached_tokens;
    if (typeof prompt !== "number" || typeof cached !== "number" || prompt < 0 || cached < 0) return "error";
    return prompt === 0 ? 0 : Math.min(1, cached / prompt);
  } catch {
    return timeout.aborted ? "timeout" : "error";
  }
}
