// Summaries of the prefix-cache and fair-scheduling scenarios, from recorded numbers only (as in
// summary.ts), so a results JSON can be re-summarized later.
import { ttftMs, tokenCount, type StreamTiming } from "./sse.js";
import { mean, median, percentile, present } from "./stats.js";
import { nullable, round2, type RequestRecord, type RoundRecord, type TargetResult } from "./summary.js";

export const SCENARIO_TARGETS = {
  /** Prefix scenario: TTFT p50 with the system prompt cached / without, at most. */
  maxPrefixTtftRatio: 0.2,
  /** Fairness scenario: the streams' ITL p95 during a long prefill / just before, at most. */
  maxFairnessItlRatio: 3,
} as const;

function target(name: string, value: number | null, limit: number, decimals: number): TargetResult {
  return {
    name: `${name} <= ${limit}`,
    value: value === null ? "not measured" : value.toFixed(decimals),
    status: value === null ? "n/a" : value <= limit ? "met" : "not met",
  };
}

function ratioOf(numerator: number | null, denominator: number | null): number | null {
  return numerator === null || denominator === null || denominator <= 0 ? null : numerator / denominator;
}

// ---- prefix cache -------------------------------------------------------------------------------

export type PrefixSeries = "prime" | "cached" | "uncached";

export interface PrefixRequestRecord {
  /** prime: the first request with the shared system prompt (fills the cache, not counted). */
  series: PrefixSeries;
  index: number;
  ttftMs: number | null;
  totalMs: number;
  tokens: number;
  /** usage.prompt_tokens and usage.prompt_tokens_details.cached_tokens, when the server sent them. */
  promptTokens: number | null;
  cachedTokens: number | null;
  error: string | null;
}

export function toPrefixRecord(series: PrefixSeries, index: number, timing: StreamTiming): PrefixRequestRecord {
  return {
    series,
    index,
    ttftMs: nullable(ttftMs(timing), round2),
    totalMs: round2(timing.endedAt - timing.startedAt),
    tokens: tokenCount(timing),
    promptTokens: timing.promptTokens,
    cachedTokens: timing.cachedTokens,
    error: timing.error,
  };
}

export interface PrefixSeriesSummary {
  requests: number;
  failed: number;
  ttftP50Ms: number | null;
  ttftMeanMs: number | null;
  promptTokensP50: number | null;
  /** Requests whose usage reported cached_tokens (a server may not report it). */
  cachedTokensReported: number;
  cachedTokensMin: number | null;
  cachedTokensMean: number | null;
}

export interface PrefixSummary {
  cached: PrefixSeriesSummary;
  uncached: PrefixSeriesSummary;
  /** cached / uncached. */
  ttftRatioP50: number | null;
  ttftRatioMean: number | null;
  target: TargetResult;
}

function summarizeSeries(records: readonly PrefixRequestRecord[]): PrefixSeriesSummary {
  const ok = records.filter((r) => r.error === null);
  const ttfts = present(ok.map((r) => r.ttftMs));
  const cached = present(ok.map((r) => r.cachedTokens));
  return {
    requests: records.length,
    failed: records.length - ok.length,
    ttftP50Ms: nullable(percentile(ttfts, 50), round2),
    ttftMeanMs: nullable(mean(ttfts), round2),
    promptTokensP50: percentile(present(ok.map((r) => r.promptTokens)), 50),
    cachedTokensReported: cached.length,
    cachedTokensMin: cached.length === 0 ? null : Math.min(...cached),
    cachedTokensMean: nullable(mean(cached), round2),
  };
}

export function summarizePrefix(records: readonly PrefixRequestRecord[]): PrefixSummary {
  const cached = summarizeSeries(records.filter((r) => r.series === "cached"));
  const uncached = summarizeSeries(records.filter((r) => r.series === "uncached"));
  const ttftRatioP50 = nullable(ratioOf(cached.ttftP50Ms, uncached.ttftP50Ms), (v) => Math.round(v * 1000) / 1000);
  return {
    cached,
    uncached,
    ttftRatioP50,
    ttftRatioMean: nullable(ratioOf(cached.ttftMeanMs, uncached.ttftMeanMs), (v) => Math.round(v * 1000) / 1000),
    target: target(
      "TTFT p50 with the system prompt cached / without",
      ttftRatioP50,
      SCENARIO_TARGETS.maxPrefixTtftRatio,
      3,
    ),
  };
}

// ---- fair scheduling ----------------------------------------------------------------------------

/** Times in ms from the scenario's origin (when the streams were sent). */
export interface FairnessWindows {
  /** Start of the "before" window: the streams are all generating. */
  baselineStart: number;
  /** The long prompt is sent: end of "before", start of "during". */
  longStart: number;
  /** Its first token arrives (its prefill is done): end of "during". */
  longFirstToken: number;
}

export interface GapStats {
  gaps: number;
  itlP50Ms: number | null;
  itlP95Ms: number | null;
  itlMaxMs: number | null;
}

export interface FairnessSummary {
  streams: number;
  baselineMs: number;
  /** Long prompt: send to first token while the streams run, and alone (before the streams). */
  prefillMs: number;
  soloPrefillMs: number | null;
  before: GapStats;
  during: GapStats & { streamsWithGaps: number };
  /** during / before. */
  itlP95Ratio: number | null;
  /** Streams that finished on their own before the window ended (their gaps are missing). */
  streamsEndedEarly: number;
  longError: string | null;
  target: TargetResult;
}

/**
 * Inter-token gaps of one stream in a window. "before": gaps lying wholly inside [start, end];
 * "during": gaps overlapping (start, end), so a stall that began before the window or ends after
 * it counts (a server that evaluates the whole prompt in one decode shows as one long gap).
 */
export function gapsInWindow(
  times: readonly number[],
  start: number,
  end: number,
  mode: "inside" | "overlapping",
): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const [a, b] = [times[i - 1]!, times[i]!];
    const keep = mode === "inside" ? a >= start && b <= end : b > start && a < end;
    if (keep) gaps.push(b - a);
  }
  return gaps;
}

function gapStats(gaps: readonly number[]): GapStats {
  return {
    gaps: gaps.length,
    itlP50Ms: nullable(percentile(gaps, 50), round2),
    itlP95Ms: nullable(percentile(gaps, 95), round2),
    itlMaxMs: gaps.length === 0 ? null : round2(Math.max(...gaps)),
  };
}

/** `longError`: the long request failed, so the window's end is not its first token and no ratio is given. */
export function summarizeFairness(
  streamTimes: readonly (readonly number[])[],
  streamsEndedEarly: number,
  w: FairnessWindows,
  soloPrefillMs: number | null,
  longError: string | null = null,
): FairnessSummary {
  const before = streamTimes.map((t) => gapsInWindow(t, w.baselineStart, w.longStart, "inside"));
  const during = streamTimes.map((t) => gapsInWindow(t, w.longStart, w.longFirstToken, "overlapping"));
  const b = gapStats(before.flat());
  const d = gapStats(during.flat());
  const itlP95Ratio = longError === null ? nullable(ratioOf(d.itlP95Ms, b.itlP95Ms), round2) : null;
  const name = "streams' ITL p95 during a long prefill / before";
  return {
    streams: streamTimes.length,
    baselineMs: round2(w.longStart - w.baselineStart),
    prefillMs: round2(w.longFirstToken - w.longStart),
    soloPrefillMs: nullable(soloPrefillMs, round2),
    before: b,
    during: { ...d, streamsWithGaps: during.filter((g) => g.length > 0).length },
    itlP95Ratio,
    streamsEndedEarly,
    longError,
    target:
      longError === null
        ? target(name, itlP95Ratio, SCENARIO_TARGETS.maxFairnessItlRatio, 2)
        : {
            name: `${name} <= ${SCENARIO_TARGETS.maxFairnessItlRatio}`,
            value: `the long prompt failed: ${longError}`,
            status: "n/a",
          },
  };
}

// ---- one at a time, then all at once ------------------------------------------------------------

export interface BurstRun {
  round: number;
  /** Phase 1: one chat at a time. */
  sequential: RequestRecord[];
  /** Phase 2: all at once. */
  simultaneous: RoundRecord;
}

export interface BurstRoundSummary {
  round: number;
  /** Phase 1's TTFT p50 (one chat at a time, the system prompt cached after the first). */
  sequentialTtftP50Ms: number | null;
  /** Phase 2 (all at once): TTFT percentiles over its requests, and its aggregate throughput. */
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  ttftMaxMs: number | null;
  aggregateTokPerS: number | null;
  failed: number;
}

export interface BurstSummary {
  streams: number;
  rounds: BurstRoundSummary[];
  /** Medians over rounds of the per-round figures. */
  sequentialTtftP50Ms: number | null;
  ttftP50Ms: number | null;
  ttftP95Ms: number | null;
  aggregateTokPerS: number | null;
  failed: number;
}

export function summarizeBurstRound(run: BurstRun): BurstRoundSummary {
  const ok = run.simultaneous.requests.filter((r) => r.error === null);
  const ttfts = present(ok.map((r) => r.ttftMs));
  const sequentialOk = run.sequential.filter((r) => r.error === null);
  return {
    round: run.round,
    sequentialTtftP50Ms: nullable(percentile(present(sequentialOk.map((r) => r.ttftMs)), 50), round2),
    ttftP50Ms: nullable(percentile(ttfts, 50), round2),
    ttftP95Ms: nullable(percentile(ttfts, 95), round2),
    ttftMaxMs: ttfts.length === 0 ? null : round2(Math.max(...ttfts)),
    aggregateTokPerS: run.simultaneous.aggregateTokPerS,
    failed: run.simultaneous.failed + (run.sequential.length - sequentialOk.length),
  };
}

export function summarizeBurst(streams: number, runs: readonly BurstRun[]): BurstSummary {
  const rounds = runs.map(summarizeBurstRound);
  const med = (f: (r: BurstRoundSummary) => number | null): number | null =>
    nullable(median(present(rounds.map(f))), round2);
  return {
    streams,
    rounds,
    sequentialTtftP50Ms: med((r) => r.sequentialTtftP50Ms),
    ttftP50Ms: med((r) => r.ttftP50Ms),
    ttftP95Ms: med((r) => r.ttftP95Ms),
    aggregateTokPerS: med((r) => r.aggregateTokPerS),
    failed: rounds.reduce((n, r) => n + r.failed, 0),
  };
}
