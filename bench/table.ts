// Plain-text rendering of a bench summary (stdout; the JSON file holds everything).
import { REFERENCE, type BenchSummary } from "./summary.js";

export type Align = "left" | "right";

/** Columns padded to their widest cell; numbers are usually right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => ((align[i] ?? "right") === "left" ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
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

export function renderReport(header: ReportHeader, summary: BenchSummary): string {
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
      ["streams", "agg tok/s", "ref", "vs ref", "stream tok/s", "TTFT p50 ms", "p90", "ITL p50 ms", "p95", "seq/decode", "failed"],
      rows,
    ),
  );
  out.push("");
  out.push(`single-stream decode: ${fmt(summary.singleStreamDecodeTokPerS)} tok/s`);
  const ttftVsRef = summary.ttftRatio === null ? "" : `, reference ~${REFERENCE.ttftP50Ms} ms (${fmtRatio(summary.ttftRatio)} of it; lower is better)`;
  out.push(`TTFT p50 (1 stream): ${fmt(summary.singleStreamTtftP50Ms, 0, " ms")}${ttftVsRef}`);
  out.push(`TTFT over all requests: p50 ${fmt(summary.ttftP50Ms, 0, " ms")}, p90 ${fmt(summary.ttftP90Ms, 0, " ms")}`);
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
  out.push(`reference: ${REFERENCE.server}, ${REFERENCE.model} (Q8_0), ${REFERENCE.threads} threads, ${REFERENCE.tokens} tokens/stream, 2-vCPU machine`);
  for (const note of summary.comparisonNotes) out.push(`  note: ${note}`);
  out.push("targets:");
  for (const t of summary.targets) out.push(`  [${t.status === "met" ? "met" : t.status === "not met" ? "NOT MET" : "n/a"}] ${t.name}: ${t.value}`);
  return out.join("\n");
}
