// The gateway scenario's figures (issue #15), from recorded numbers only, so a results JSON can be
// re-summarized later: per routing policy (and for the single-replica reference) the prefix-cache
// hit rate from the replicas' cached_tokens, TTFT p50/p95 and aggregate tok/s; the gateway's own
// cost per request; the issue's three targets; the table and the bar chart.
import { mean, percentile, present } from "./stats.js";
import { nullable, round2, type TargetResult } from "./summary.js";
import { barChartsSvg } from "./svg.js";
import { fmt, formatTable, renderTarget } from "./table.js";

export const GATEWAY_POLICIES = ["cache_aware", "round_robin", "least_loaded"] as const;
export type GatewayPolicy = (typeof GATEWAY_POLICIES)[number];

export const GATEWAY_TARGETS = {
  /** cache_aware's hit rate over the single replica's, at least. */
  minHitRateOfSingle: 0.9,
  /** 1 - cache_aware's TTFT p50 / round_robin's, at least. */
  minTtftReductionVsRoundRobin: 0.4,
  /** Through the gateway minus direct, p50 of a request's time, at most (ms). */
  maxOverheadP50Ms: 2,
} as const;

export interface GatewayRequestRecord {
  tenant: number;
  conversation: number;
  turn: number;
  seed: number;
  /** When the request was sent, ms after the run's start. */
  startMs: number;
  ttftMs: number | null;
  totalMs: number;
  /** usage.completion_tokens (else text chunks). */
  tokens: number;
  promptTokens: number | null;
  cachedTokens: number | null;
  /** The gateway's x-lavash-replica header; the replica's name when sent directly. */
  replica: string | null;
  error: string | null;
}

export interface RunSummary {
  /** A policy, or "single replica". */
  label: string;
  requests: number;
  failed: number;
  /** Over the successful requests whose usage reported both counts. */
  promptTokens: number;
  cachedTokens: number;
  /** cachedTokens / promptTokens; null when no request reported them. */
  hitRate: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  ttftMeanMs: number | null;
  completionTokens: number;
  wallMs: number;
  /** completionTokens / wallMs (first request sent to last stream ended). */
  aggregateTokPerS: number | null;
  /** Requests per replica. */
  replicas: Record<string, number>;
  /** Mean over tenants of the number of replicas that served the tenant's requests. */
  replicasPerTenant: number | null;
}

/** Pooled: Σ cached / Σ prompt over the requests that reported both (a long prompt weighs more). */
export function hitRate(records: readonly GatewayRequestRecord[]): {
  promptTokens: number;
  cachedTokens: number;
  hitRate: number | null;
} {
  let promptTokens = 0;
  let cachedTokens = 0;
  for (const r of records) {
    if (r.error !== null || r.promptTokens === null || r.cachedTokens === null) continue;
    promptTokens += r.promptTokens;
    cachedTokens += r.cachedTokens;
  }
  return {
    promptTokens,
    cachedTokens,
    hitRate: promptTokens > 0 ? Math.round((cachedTokens / promptTokens) * 10_000) / 10_000 : null,
  };
}

export function summarizeRun(label: string, records: readonly GatewayRequestRecord[], wallMs: number): RunSummary {
  const ok = records.filter((r) => r.error === null);
  const ttfts = present(ok.map((r) => r.ttftMs));
  const completionTokens = ok.reduce((n, r) => n + r.tokens, 0);
  const replicas: Record<string, number> = {};
  const byTenant = new Map<number, Set<string>>();
  for (const r of ok) {
    if (r.replica === null) continue;
    replicas[r.replica] = (replicas[r.replica] ?? 0) + 1;
    const set = byTenant.get(r.tenant) ?? new Set<string>();
    set.add(r.replica);
    byTenant.set(r.tenant, set);
  }
  return {
    label,
    requests: records.length,
    failed: records.length - ok.length,
    ...hitRate(records),
    ttftP50Ms: nullable(percentile(ttfts, 50), round2),
    ttftP95Ms: nullable(percentile(ttfts, 95), round2),
    ttftMeanMs: nullable(mean(ttfts), round2),
    completionTokens,
    wallMs: round2(wallMs),
    aggregateTokPerS: wallMs > 0 ? round2((completionTokens * 1000) / wallMs) : null,
    replicas,
    replicasPerTenant: nullable(mean([...byTenant.values()].map((s) => s.size)), round2),
  };
}

// ---- gateway overhead -----------------------------------------------------------------------------

export interface OverheadPair {
  /** Request time (sent to stream ended) and TTFT, straight to the replica and through the gateway. */
  directMs: number | null;
  gatewayMs: number | null;
  directTtftMs: number | null;
  gatewayTtftMs: number | null;
}

export interface GatewayOverheadSummary {
  pairs: number;
  /** Pairs where either request failed (left out). */
  failed: number;
  directP50Ms: number | null;
  gatewayP50Ms: number | null;
  /** gatewayP50Ms - directP50Ms: what the target is about. */
  overheadP50Ms: number | null;
  /** The median of the pairs' differences (each pair ran back to back). */
  pairedDiffP50Ms: number | null;
  directTtftP50Ms: number | null;
  gatewayTtftP50Ms: number | null;
}

export function summarizeGatewayOverhead(pairs: readonly OverheadPair[]): GatewayOverheadSummary {
  const ok = pairs.filter((p) => p.directMs !== null && p.gatewayMs !== null);
  const p50 = (values: readonly (number | null)[]): number | null => nullable(percentile(present(values), 50), round2);
  const directP50Ms = p50(ok.map((p) => p.directMs));
  const gatewayP50Ms = p50(ok.map((p) => p.gatewayMs));
  return {
    pairs: pairs.length,
    failed: pairs.length - ok.length,
    directP50Ms,
    gatewayP50Ms,
    overheadP50Ms: directP50Ms === null || gatewayP50Ms === null ? null : round2(gatewayP50Ms - directP50Ms),
    pairedDiffP50Ms: p50(ok.map((p) => p.gatewayMs! - p.directMs!)),
    directTtftP50Ms: p50(ok.map((p) => p.directTtftMs)),
    gatewayTtftP50Ms: p50(ok.map((p) => p.gatewayTtftMs)),
  };
}

// ---- targets ----------------------------------------------------------------------------------------

function check(name: string, value: number | null, ok: (v: number) => boolean, decimals: number): TargetResult {
  return {
    name,
    value: value === null ? "not measured" : value.toFixed(decimals),
    status: value === null ? "n/a" : ok(value) ? "met" : "not met",
  };
}

export interface GatewayComparison {
  /** cache_aware's hit rate / the single replica's. */
  hitRateOfSingle: number | null;
  /** 1 - cache_aware's TTFT p50 / round_robin's. */
  ttftReductionVsRoundRobin: number | null;
  targets: TargetResult[];
}

export function compareGatewayRuns(
  policies: readonly RunSummary[],
  single: RunSummary | null,
  overhead: GatewayOverheadSummary | null,
): GatewayComparison {
  const of = (label: string): RunSummary | undefined => policies.find((p) => p.label === label);
  const cache = of("cache_aware");
  const rr = of("round_robin");
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
    a === null || a === undefined || b === null || b === undefined || b <= 0 ? null : a / b;
  const hitRateOfSingle = nullable(ratio(cache?.hitRate, single?.hitRate), (v) => Math.round(v * 1000) / 1000);
  const ttftRatio = ratio(cache?.ttftP50Ms, rr?.ttftP50Ms);
  const ttftReductionVsRoundRobin = ttftRatio === null ? null : Math.round((1 - ttftRatio) * 1000) / 1000;
  const t = GATEWAY_TARGETS;
  return {
    hitRateOfSingle,
    ttftReductionVsRoundRobin,
    targets: [
      check(
        `cache_aware hit rate / single replica's >= ${t.minHitRateOfSingle}`,
        hitRateOfSingle,
        (v) => v >= t.minHitRateOfSingle,
        3,
      ),
      check(
        `cache_aware TTFT p50 lower than round_robin's by >= ${t.minTtftReductionVsRoundRobin * 100}%`,
        ttftReductionVsRoundRobin,
        (v) => v >= t.minTtftReductionVsRoundRobin,
        3,
      ),
      check(
        `gateway overhead per request, p50 through the gateway - direct <= ${t.maxOverheadP50Ms} ms`,
        overhead?.overheadP50Ms ?? null,
        (v) => v <= t.maxOverheadP50Ms,
        2,
      ),
    ],
  };
}

// ---- rendering ----------------------------------------------------------------------------------

export function renderGatewayReport(
  runs: readonly RunSummary[],
  overhead: GatewayOverheadSummary | null,
  comparison: GatewayComparison,
): string {
  const rows = runs.map((r) => [
    r.label,
    String(r.requests),
    String(r.failed),
    fmt(r.hitRate, 3),
    `${r.cachedTokens} / ${r.promptTokens}`,
    fmt(r.ttftP50Ms, 0),
    fmt(r.ttftP95Ms, 0),
    fmt(r.aggregateTokPerS, 1),
    Object.entries(r.replicas)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, n]) => String(n))
      .join("/") || "-",
    fmt(r.replicasPerTenant, 2),
  ]);
  const out = [
    formatTable(
      [
        "routing",
        "requests",
        "failed",
        "hit rate",
        "cached / prompt tokens",
        "TTFT p50 ms",
        "p95 ms",
        "tok/s",
        "per replica",
        "replicas/tenant",
      ],
      rows,
      ["left"],
    ),
  ];
  if (overhead !== null)
    out.push(
      `gateway overhead (one replica, ${overhead.pairs} interleaved pairs of max_tokens=1 requests${overhead.failed > 0 ? `, ${overhead.failed} failed` : ""}): ` +
        `p50 ${fmt(overhead.directP50Ms, 2)} ms direct, ${fmt(overhead.gatewayP50Ms, 2)} ms through the gateway: ` +
        `+${fmt(overhead.overheadP50Ms, 2)} ms (median of pair differences ${fmt(overhead.pairedDiffP50Ms, 2)} ms; ` +
        `TTFT p50 ${fmt(overhead.directTtftP50Ms, 2)} / ${fmt(overhead.gatewayTtftP50Ms, 2)} ms)`,
    );
  out.push(
    `cache_aware vs single replica hit rate: ${fmt(comparison.hitRateOfSingle, 3)}; ` +
      `TTFT p50 vs round_robin: ${comparison.ttftReductionVsRoundRobin === null ? "-" : `${(comparison.ttftReductionVsRoundRobin * 100).toFixed(1)}% lower`}`,
  );
  for (const t of comparison.targets) out.push(renderTarget(t));
  return out.join("\n");
}

/** Bars per policy (and the single replica): hit rate, TTFT p50 and p95, aggregate tok/s. */
export function gatewayChartSvg(runs: readonly RunSummary[], subtitle: string): string {
  const categories = runs.map((r) => r.label);
  return barChartsSvg({
    title: "lavash gateway: routing policies on a multi-tenant chat workload",
    subtitle,
    panels: [
      {
        title: "Prefix-cache hit rate",
        yLabel: "cached / prompt tokens",
        categories,
        series: [{ name: "hit rate", values: runs.map((r) => r.hitRate) }],
      },
      {
        title: "Time to first token",
        yLabel: "ms",
        categories,
        series: [
          { name: "TTFT p50", values: runs.map((r) => r.ttftP50Ms) },
          { name: "TTFT p95", values: runs.map((r) => r.ttftP95Ms) },
        ],
      },
      {
        title: "Aggregate throughput",
        yLabel: "tokens/s",
        categories,
        series: [{ name: "tok/s", values: runs.map((r) => r.aggregateTokPerS) }],
      },
    ],
  });
}
