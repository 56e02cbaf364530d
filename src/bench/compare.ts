// Two servers measured with the same workloads, side by side: each figure of the baseline (the
// first server: `--target A` or the `--compare` peer) and of the candidate (`--target B`, or the
// lavash bench started), and candidate / baseline. Pure, like summary.ts.
import type { BurstSummary, FairnessSummary, PrefixSummary } from "./scenarios.js";
import { lineChartsSvg } from "./svg.js";
import type { BenchSummary, ShortRequestsSummary, TtftSeriesSummary } from "./summary.js";

export type MetricUnit = "tok/s" | "ms" | "req/s" | "bytes" | "ratio";

export interface MetricRow {
  metric: string;
  unit: MetricUnit;
  /** Which way is better, so a reader knows whether a ratio above 1 is a win. */
  better: "higher" | "lower";
  baseline: number | null;
  candidate: number | null;
  /** candidate / baseline; null when either is missing or the baseline is 0. */
  ratio: number | null;
}

export function metricRow(
  metric: string,
  unit: MetricUnit,
  better: MetricRow["better"],
  baseline: number | null,
  candidate: number | null,
): MetricRow {
  const ratio =
    baseline === null || candidate === null || baseline === 0 ? null : Math.round((candidate / baseline) * 1000) / 1000;
  return { metric, unit, better, baseline, candidate, ratio };
}

/** What the throughput scenario compares, for one server. */
export interface ThroughputFigures {
  singleStreamDecodeTokPerS: number | null;
  /** TTFT p50 at 1 stream: of the one-at-a-time series when measured, else of the 1-stream level. */
  ttftP50Ms: number | null;
  /** Requests behind ttftP50Ms when it comes from the one-at-a-time series. */
  ttftSeriesRequests?: number;
  aggregateTokPerS: { concurrency: number; value: number | null }[];
  /** TTFT p50 of every level (the chart's second panel; the 8-stream one is compared). */
  ttftP50MsByLevel?: { concurrency: number; value: number | null }[];
  shortRequestsPerS: number | null;
  peakRssBytes: number | null;
}

export function throughputFigures(
  summary: BenchSummary,
  short: ShortRequestsSummary | null,
  peakRssBytes: number | null,
  ttftSeries: TtftSeriesSummary | null = null,
): ThroughputFigures {
  return {
    singleStreamDecodeTokPerS: summary.singleStreamDecodeTokPerS,
    ttftP50Ms: ttftSeries !== null ? ttftSeries.ttftP50Ms : summary.singleStreamTtftP50Ms,
    ...(ttftSeries !== null ? { ttftSeriesRequests: ttftSeries.requests } : {}),
    aggregateTokPerS: summary.levels.map((l) => ({ concurrency: l.concurrency, value: l.aggregateTokPerS })),
    ttftP50MsByLevel: summary.levels.map((l) => ({ concurrency: l.concurrency, value: l.ttftP50Ms })),
    shortRequestsPerS: short?.requestsPerS ?? null,
    peakRssBytes,
  };
}

/** Besides 1 stream, TTFT p50 is compared at this level ("8 simultaneous streams"), when measured. */
export const TTFT_COMPARED_AT = 8;

export function compareThroughput(
  a: ThroughputFigures,
  b: ThroughputFigures,
  short: ShortRequestsSummary | null,
): MetricRow[] {
  const levels = [...new Set([...a.aggregateTokPerS, ...b.aggregateTokPerS].map((l) => l.concurrency))].sort(
    (x, y) => x - y,
  );
  const at = (f: ThroughputFigures, c: number): number | null =>
    f.aggregateTokPerS.find((l) => l.concurrency === c)?.value ?? null;
  const ttftAt = (f: ThroughputFigures, c: number): number | null =>
    f.ttftP50MsByLevel?.find((l) => l.concurrency === c)?.value ?? null;
  const ttftMany = levels.includes(TTFT_COMPARED_AT)
    ? [
        metricRow(
          `TTFT p50 (${TTFT_COMPARED_AT} streams at once)`,
          "ms",
          "lower",
          ttftAt(a, TTFT_COMPARED_AT),
          ttftAt(b, TTFT_COMPARED_AT),
        ),
      ]
    : [];
  return [
    metricRow("single-stream decode", "tok/s", "higher", a.singleStreamDecodeTokPerS, b.singleStreamDecodeTokPerS),
    metricRow(
      a.ttftSeriesRequests !== undefined && a.ttftSeriesRequests === b.ttftSeriesRequests
        ? `TTFT p50 (1 stream, ${a.ttftSeriesRequests} requests one at a time)`
        : "TTFT p50 (1 stream)",
      "ms",
      "lower",
      a.ttftP50Ms,
      b.ttftP50Ms,
    ),
    ...ttftMany,
    ...levels.map((c) =>
      metricRow(`aggregate, ${c} stream${c === 1 ? "" : "s"}`, "tok/s", "higher", at(a, c), at(b, c)),
    ),
    ...(short === null
      ? []
      : [
          metricRow(
            `max_tokens=1: ${short.requests} requests, ${short.concurrency} at a time`,
            "req/s",
            "higher",
            a.shortRequestsPerS,
            b.shortRequestsPerS,
          ),
        ]),
    metricRow("server peak RSS", "bytes", "lower", a.peakRssBytes, b.peakRssBytes),
  ];
}

export function comparePrefix(a: PrefixSummary, b: PrefixSummary): MetricRow[] {
  return [
    metricRow("TTFT p50, system prompt cached", "ms", "lower", a.cached.ttftP50Ms, b.cached.ttftP50Ms),
    metricRow("TTFT p50, no reusable prefix", "ms", "lower", a.uncached.ttftP50Ms, b.uncached.ttftP50Ms),
    metricRow("cached / uncached TTFT p50", "ratio", "lower", a.ttftRatioP50, b.ttftRatioP50),
  ];
}

export function compareFairness(a: FairnessSummary, b: FairnessSummary): MetricRow[] {
  return [
    metricRow("streams' ITL p95 before", "ms", "lower", a.before.itlP95Ms, b.before.itlP95Ms),
    metricRow("streams' ITL p95 during the long prefill", "ms", "lower", a.during.itlP95Ms, b.during.itlP95Ms),
    metricRow("during / before", "ratio", "lower", a.itlP95Ratio, b.itlP95Ratio),
    metricRow("long prompt TTFT while streams run", "ms", "lower", a.prefillMs, b.prefillMs),
  ];
}

/** The "one at a time, then N at once" workload: its second phase. */
export function compareBurst(a: BurstSummary, b: BurstSummary): MetricRow[] {
  const n = Math.max(a.streams, b.streams);
  const name = `${n} one at a time, then ${n} at once`;
  return [
    metricRow(`${name}: TTFT p50`, "ms", "lower", a.ttftP50Ms, b.ttftP50Ms),
    metricRow(`${name}: TTFT p95`, "ms", "lower", a.ttftP95Ms, b.ttftP95Ms),
    metricRow(`${name}: aggregate`, "tok/s", "higher", a.aggregateTokPerS, b.aggregateTokPerS),
  ];
}

/** The chart beside the JSON: aggregate tok/s and TTFT p50 against concurrent streams, one line per server. */
export function throughputChartSvg(
  title: string,
  subtitle: string,
  servers: readonly { name: string; figures: ThroughputFigures }[],
): string {
  const series = (pick: (f: ThroughputFigures) => { concurrency: number; value: number | null }[] | undefined) =>
    servers.map((s) => ({
      name: s.name,
      points: (pick(s.figures) ?? []).map((l) => [l.concurrency, l.value] as const),
    }));
  return lineChartsSvg({
    title,
    subtitle,
    panels: [
      {
        title: "Aggregate throughput",
        xLabel: "concurrent streams",
        yLabel: "tokens/s (all streams)",
        series: series((f) => f.aggregateTokPerS),
      },
      {
        title: "Time to first token (p50)",
        xLabel: "concurrent streams",
        yLabel: "TTFT p50 (ms)",
        series: series((f) => f.ttftP50MsByLevel),
      },
    ],
  });
}
