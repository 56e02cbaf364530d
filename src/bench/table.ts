// Plain-text rendering of a bench summary (stdout; the JSON file holds everything).
import type { MetricRow } from "./compare.js";
import type { BurstSummary, FairnessSummary, PrefixSummary } from "./scenarios.js";
import {
  REFERENCE,
  type BenchSummary,
  type ShortRequestsSummary,
  type TargetResult,
  type TtftSeriesSummary,
} from "./summary.js";

export type Align = "left" | "right";

/** Columns padded to their widest cell; numbers are usually right-aligned. `rule`: dashes under the header. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
  rule = true,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => ((align[i] ?? "right") === "left" ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...(rule ? [line(widths.map((w) => "-".repeat(w)))] : []), ...rows.map(line)].join("\n");
}

/** Fixed decimals, or "-" for a missing value. */
export function fmt(value: number | null | undefined, decimals = 1, suffix = ""): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "-" : `${value.toFixed(decimals)}${suffix}`;
}

export function fmtRatio(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "-" : `${(value * 100).toFixed(0)}%`;
}

export function fmtBytes(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "-" : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

export interface ReportHeader {
  server: string;
  model: string;
  tokens: number;
  repeat: number;
  threads: number | null;
  parallel: number | null;
  peakRssBytes: number | null;
}

export function renderReport(
  header: ReportHeader,
  summary: BenchSummary,
  short: ShortRequestsSummary | null = null,
  ttftSeries: TtftSeriesSummary | null = null,
): string {
  const out: string[] = [];
  const setup = [
    `${header.tokens} tokens/stream`,
    `${header.repeat} round${header.repeat === 1 ? "" : "s"} per level (medians)`,
    header.threads !== null ? `${header.threads} threads` : null,
    header.parallel !== null ? `parallel ${header.parallel}` : null,
  ].filter((s) => s !== null);
  out.push(`${header.server}, model ${header.model}: ${setup.join(", ")}`);
  out.push("");

  const rows = summary.levels.map((l) => {
    const cmp = summary.comparison.find((c) => c.concurrency === l.concurrency);
    return [
      String(l.concurrency),
      fmt(l.aggregateTokPerS),
      cmp ? String(cmp.reference) : "-",
      fmtRatio(cmp?.ratio),
      fmt(l.perStreamDecodeTokPerS),
      fmt(l.ttftP50Ms, 0),
      fmt(l.ttftP90Ms, 0),
      fmt(l.itlP50Ms, 1),
      fmt(l.itlP95Ms, 1),
      fmt(l.scheduler?.meanSequencesPerDecode, 2),
      l.failed > 0 ? `${l.failed}/${l.requests}` : "0",
    ];
  });
  out.push(
    formatTable(
      [
        "streams",
        "agg tok/s",
        "ref",
        "vs ref",
        "stream tok/s",
        "TTFT p50 ms",
        "p90",
        "ITL p50 ms",
        "p95",
        "seq/decode",
        "failed",
      ],
      rows,
    ),
  );
  out.push("");
  out.push(`single-stream decode: ${fmt(summary.singleStreamDecodeTokPerS)} tok/s`);
  const ttftVsRef =
    summary.ttftRatio === null
      ? ""
      : `, reference ~${REFERENCE.ttftP50Ms} ms (${fmtRatio(summary.ttftRatio)} of it; lower is better)`;
  out.push(`TTFT p50 (1 stream): ${fmt(summary.singleStreamTtftP50Ms, 0, " ms")}${ttftVsRef}`);
  out.push(`TTFT over all requests: p50 ${fmt(summary.ttftP50Ms, 0, " ms")}, p90 ${fmt(summary.ttftP90Ms, 0, " ms")}`);
  if (short !== null) out.push(renderShortRequests(short));
  if (ttftSeries !== null) out.push(renderTtftSeries(ttftSeries));
  if (header.peakRssBytes !== null) out.push(`server peak RSS: ${fmtBytes(header.peakRssBytes)}`);
  const o = summary.overhead;
  if (o !== null) {
    out.push(
      `per-token overhead on ${o.model} (${o.tokens} tokens): bare engine ${fmt(o.bareMsPerToken, 2, " ms")}, ` +
        `lavash over HTTP ${fmt(o.lavashMsPerToken, 2, " ms")}: ${o.overheadMsPerToken !== null && o.overheadMsPerToken >= 0 ? "+" : ""}` +
        `${fmt(o.overheadMsPerToken, 2, " ms")} per token (${fmt(o.overheadPercent, 0, "%")})`,
    );
  }
  out.push("");
  out.push(
    `reference: ${REFERENCE.server}, ${REFERENCE.model} (Q8_0), ${REFERENCE.threads} threads, ${REFERENCE.tokens} tokens/stream, 2-vCPU machine`,
  );
  for (const note of summary.comparisonNotes) out.push(`  note: ${note}`);
  out.push("targets:");
  for (const t of summary.targets) out.push(renderTarget(t));
  return out.join("\n");
}

export function renderTarget(t: TargetResult): string {
  return `  [${t.status === "met" ? "met" : t.status === "not met" ? "NOT MET" : "n/a"}] ${t.name}: ${t.value}`;
}

export function renderShortRequests(s: ShortRequestsSummary): string {
  return (
    `max_tokens=1: ${s.requests} requests, ${s.concurrency} at a time: ${fmt(s.requestsPerS, 1, " req/s")}, ` +
    `latency p50 ${fmt(s.latencyP50Ms, 0, " ms")}, p95 ${fmt(s.latencyP95Ms, 0, " ms")}` +
    (s.failed > 0 ? `, ${s.failed} FAILED` : "")
  );
}

export function renderTtftSeries(s: TtftSeriesSummary): string {
  return (
    `TTFT at 1 stream, ${s.requests} max_tokens=1 requests one at a time: p50 ${fmt(s.ttftP50Ms, 1, " ms")} ` +
    `(p10 ${fmt(s.ttftP10Ms, 1, " ms")}, p90 ${fmt(s.ttftP90Ms, 1, " ms")})` +
    (s.failed > 0 ? `, ${s.failed} FAILED` : "")
  );
}

function fmtMetric(row: MetricRow, value: number | null): string {
  switch (row.unit) {
    case "bytes":
      return fmtBytes(value);
    case "ratio":
      return fmt(value, 3);
    case "ms":
      return fmt(value, 0, " ms");
    default:
      return fmt(value, 1, ` ${row.unit}`);
  }
}

/** Two servers side by side; `labels` are the baseline's and the candidate's names. */
export function renderComparison(labels: readonly [string, string], rows: readonly MetricRow[]): string {
  const out = [`A = ${labels[0]}`, `B = ${labels[1]}`, ""];
  out.push(
    formatTable(
      ["metric", "A", "B", "B/A", "better"],
      rows.map((r) => [r.metric, fmtMetric(r, r.baseline), fmtMetric(r, r.candidate), fmt(r.ratio, 2), r.better]),
      ["left", "right", "right", "right", "left"],
    ),
  );
  return out.join("\n");
}

export function renderPrefix(server: string, s: PrefixSummary): string {
  const series = (name: string, x: PrefixSummary["cached"]): string[] => [
    name,
    String(x.requests),
    fmt(x.ttftP50Ms, 0),
    fmt(x.ttftMeanMs, 0),
    fmt(x.promptTokensP50, 0),
    x.cachedTokensReported === 0 ? "not reported" : `${fmt(x.cachedTokensMin, 0)} / ${fmt(x.cachedTokensMean, 0)}`,
    x.failed > 0 ? `${x.failed}/${x.requests}` : "0",
  ];
  return [
    `${server}: prefix cache`,
    "",
    formatTable(
      ["series", "requests", "TTFT p50 ms", "mean", "prompt tokens", "cached tokens min / mean", "failed"],
      [series("system prompt cached", s.cached), series("unique first token", s.uncached)],
      ["left"],
    ),
    "",
    `cached / uncached TTFT: p50 ${fmt(s.ttftRatioP50, 3)}, mean ${fmt(s.ttftRatioMean, 3)}`,
    renderTarget(s.target),
  ].join("\n");
}

export function renderFairness(server: string, s: FairnessSummary): string {
  const row = (name: string, g: FairnessSummary["before"], ms: number): string[] => [
    name,
    fmt(ms, 0),
    String(g.gaps),
    fmt(g.itlP50Ms, 1),
    fmt(g.itlP95Ms, 1),
    fmt(g.itlMaxMs, 1),
  ];
  return [
    `${server}: fair scheduling, ${s.streams} streams generating`,
    "",
    formatTable(
      ["streams' inter-token gaps", "window ms", "gaps", "ITL p50 ms", "p95", "max"],
      [row("before the long prompt", s.before, s.baselineMs), row("during its prefill", s.during, s.prefillMs)],
      ["left"],
    ),
    "",
    `long prompt: first token after ${fmt(s.prefillMs, 0, " ms")} while the streams run, ${fmt(s.soloPrefillMs, 0, " ms")} alone`,
    `ITL p95 during / before: ${fmt(s.itlP95Ratio, 2)}` +
      (s.during.streamsWithGaps < s.streams
        ? ` (only ${s.during.streamsWithGaps} of ${s.streams} streams produced tokens during the prefill)`
        : "") +
      (s.streamsEndedEarly > 0 ? `; ${s.streamsEndedEarly} stream(s) ended early` : ""),
    renderTarget(s.target),
  ].join("\n");
}

export function renderBurst(s: BurstSummary): string {
  return (
    `${s.streams} chats one at a time (TTFT p50 ${fmt(s.sequentialTtftP50Ms, 0, " ms")}), then ${s.streams} at once: ` +
    `TTFT p50 ${fmt(s.ttftP50Ms, 0, " ms")}, p95 ${fmt(s.ttftP95Ms, 0, " ms")}, ${fmt(s.aggregateTokPerS, 1, " tok/s")} aggregate ` +
    `(medians of ${s.rounds.length} round${s.rounds.length === 1 ? "" : "s"})` +
    (s.failed > 0 ? `, ${s.failed} FAILED` : "")
  );
}
