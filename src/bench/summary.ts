// From per-request stream timings to per-level summaries, the comparison with llama-server and
// the targets. Pure: everything here is computed from recorded numbers, so a results JSON can be
// re-summarized later.
import { median, percentile, present } from "./stats.js";
import { decodeTokPerS, interTokenGaps, tokenCount, ttftMs, type StreamTiming } from "./sse.js";

/**
 * llama-server (llama.cpp) on a 2-vCPU machine like ours: the Qwen2.5-0.5B shape in Q8_0 (the
 * same random-weight file as builtin:qwen2.5-0.5b-shape), 2 threads, 64 tokens per stream.
 */
export const REFERENCE = {
  server: "llama-server",
  model: "builtin:qwen2.5-0.5b-shape",
  tokens: 64,
  threads: 2,
  aggregateTokPerS: { 1: 26, 2: 31, 4: 47, 8: 63 } as Readonly<Record<number, number>>,
  ttftP50Ms: 130,
} as const;

export const TARGETS = {
  /** Aggregate tok/s at every reference level at least this fraction of llama-server's. */
  minAggregateRatio: 0.9,
  /** Mean sequences per decode with 4 concurrent streams. */
  minSequencesPerDecodeAt4: 3.9,
} as const;

export interface RequestRecord {
  concurrency: number;
  round: number;
  index: number;
  seed: number;
  /** Request start relative to the round's start (the spread of "started together"). */
  startOffsetMs: number;
  ttftMs: number | null;
  /** Request start to the end of the response. */
  totalMs: number;
  tokens: number;
  usageTokens: number | null;
  textChunks: number;
  finishReason: string | null;
  error: string | null;
  decodeTokPerS: number | null;
  itlP50Ms: number | null;
  itlP95Ms: number | null;
  /** Arrival of each text chunk, relative to the request's start. */
  textOffsetsMs: number[];
}

export interface RoundRecord {
  concurrency: number;
  round: number;
  /** First request start to last stream end. */
  wallMs: number;
  totalTokens: number;
  aggregateTokPerS: number | null;
  failed: number;
  requests: RequestRecord[];
}

export interface SchedulerCounters {
  decodeSteps: number;
  sequencesDecoded: number;
  tokensGenerated?: number;
}

export interface SchedulerDelta {
  decodeSteps: number;
  sequencesDecoded: number;
  tokensGenerated: number | null;
  meanSequencesPerDecode: number | null;
}

export interface LevelSummary {
  concurrency: number;
  rounds: number;
  /** Median over rounds. */
  aggregateTokPerS: number | null;
  aggregateTokPerSByRound: (number | null)[];
  /** Median over the level's requests. */
  perStreamDecodeTokPerS: number | null;
  ttftP50Ms: number | null;
  ttftP90Ms: number | null;
  /** Inter-token gaps of all the level's streams pooled. */
  itlP50Ms: number | null;
  itlP95Ms: number | null;
  requests: number;
  failed: number;
  scheduler: SchedulerDelta | null;
}

export interface OverheadSummary {
  model: string;
  tokens: number;
  bareMsPerTokenByRound: number[];
  lavashMsPerTokenByRound: number[];
  bareMsPerToken: number | null;
  lavashMsPerToken: number | null;
  /** lavash − bare: what the server adds to every token (HTTP, SSE, scheduling, detokenizing). */
  overheadMsPerToken: number | null;
  overheadPercent: number | null;
}

export interface ComparisonRow {
  concurrency: number;
  measured: number | null;
  reference: number;
  ratio: number | null;
}

export interface TargetResult {
  name: string;
  value: string;
  status: "met" | "not met" | "n/a";
}

export interface BenchSummary {
  singleStreamDecodeTokPerS: number | null;
  /** From the 1-stream level (the reference's TTFT is single-stream); null without that level. */
  singleStreamTtftP50Ms: number | null;
  ttftP50Ms: number | null;
  ttftP90Ms: number | null;
  levels: LevelSummary[];
  /** Whether the measured setup matches the reference's; the ratios are shown either way. */
  comparable: boolean;
  comparisonNotes: string[];
  comparison: ComparisonRow[];
  ttftRatio: number | null;
  overhead: OverheadSummary | null;
  targets: TargetResult[];
}

export const round2 = (v: number): number => Math.round(v * 100) / 100;

export function toRequestRecord(
  timing: StreamTiming,
  meta: { concurrency: number; round: number; index: number; seed: number; roundStartedAt: number },
): RequestRecord {
  const gaps = interTokenGaps(timing);
  return {
    concurrency: meta.concurrency,
    round: meta.round,
    index: meta.index,
    seed: meta.seed,
    startOffsetMs: round2(timing.startedAt - meta.roundStartedAt),
    ttftMs: nullable(ttftMs(timing), round2),
    totalMs: round2(timing.endedAt - timing.startedAt),
    tokens: tokenCount(timing),
    usageTokens: timing.usageTokens,
    textChunks: timing.textTimes.length,
    finishReason: timing.finishReason,
    error: timing.error,
    decodeTokPerS: nullable(decodeTokPerS(timing), round2),
    itlP50Ms: nullable(percentile(gaps, 50), round2),
    itlP95Ms: nullable(percentile(gaps, 95), round2),
    textOffsetsMs: timing.textTimes.map((t) => round2(t - timing.startedAt)),
  };
}

export function nullable<T, U>(v: T | null, f: (v: T) => U): U | null {
  return v === null ? null : f(v);
}

/** Aggregate throughput of one round: every generated token over the round's wall time. */
export function toRoundRecord(
  concurrency: number,
  round: number,
  timings: StreamTiming[],
  records: RequestRecord[],
): RoundRecord {
  const start = Math.min(...timings.map((t) => t.startedAt));
  const end = Math.max(...timings.map((t) => t.endedAt));
  const wallMs = end - start;
  const ok = timings.filter((t) => t.error === null);
  const totalTokens = ok.reduce((n, t) => n + tokenCount(t), 0);
  return {
    concurrency,
    round,
    wallMs: round2(wallMs),
    totalTokens,
    aggregateTokPerS: wallMs > 0 && ok.length === timings.length ? round2((totalTokens * 1000) / wallMs) : null,
    failed: timings.length - ok.length,
    requests: records,
  };
}

export function schedulerDelta(before: SchedulerCounters, after: SchedulerCounters): SchedulerDelta {
  const decodeSteps = after.decodeSteps - before.decodeSteps;
  const sequencesDecoded = after.sequencesDecoded - before.sequencesDecoded;
  const tokensGenerated =
    before.tokensGenerated !== undefined && after.tokensGenerated !== undefined
      ? after.tokensGenerated - before.tokensGenerated
      : null;
  return {
    decodeSteps,
    sequencesDecoded,
    tokensGenerated,
    meanSequencesPerDecode: decodeSteps > 0 ? sequencesDecoded / decodeSteps : null,
  };
}

/** Gaps between consecutive times (inter-token latencies). */
export function offsetsGaps(offsets: readonly number[]): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < offsets.length; i++) gaps.push(offsets[i]! - offsets[i - 1]!);
  return gaps;
}

export function summarizeLevel(
  concurrency: number,
  rounds: readonly RoundRecord[],
  scheduler: SchedulerDelta | null,
): LevelSummary {
  const requests = rounds.flatMap((r) => r.requests);
  const ok = requests.filter((r) => r.error === null);
  const ttfts = present(ok.map((r) => r.ttftMs));
  const gaps = ok.flatMap((r) => offsetsGaps(r.textOffsetsMs));
  const byRound = rounds.map((r) => r.aggregateTokPerS);
  return {
    concurrency,
    rounds: rounds.length,
    aggregateTokPerS: nullable(median(present(byRound)), round2),
    aggregateTokPerSByRound: byRound,
    perStreamDecodeTokPerS: nullable(median(present(ok.map((r) => r.decodeTokPerS))), round2),
    ttftP50Ms: nullable(percentile(ttfts, 50), round2),
    ttftP90Ms: nullable(percentile(ttfts, 90), round2),
    itlP50Ms: nullable(percentile(gaps, 50), round2),
    itlP95Ms: nullable(percentile(gaps, 95), round2),
    requests: requests.length,
    failed: requests.length - ok.length,
    scheduler,
  };
}

export function summarizeOverhead(model: string, tokens: number, bare: number[], lavash: number[]): OverheadSummary {
  const b = median(bare);
  const l = median(lavash);
  const diff = b !== null && l !== null ? l - b : null;
  return {
    model,
    tokens,
    bareMsPerTokenByRound: bare,
    lavashMsPerTokenByRound: lavash,
    bareMsPerToken: b,
    lavashMsPerToken: l,
    overheadMsPerToken: diff,
    overheadPercent: diff !== null && b !== null && b > 0 ? (diff / b) * 100 : null,
  };
}

export interface SetupFacts {
  /** The started server's model source, or null when benchmarking a --target. */
  modelSource: string | null;
  tokens: number;
  threads: number | null;
}

/**
 * Differences from the reference's setup. `blocking` ones (model, tokens per stream) make the
 * ratios meaningless, so the throughput target is then not judged; the others are caveats.
 */
export function comparabilityNotes(setup: SetupFacts): { note: string; blocking: boolean }[] {
  const notes: { note: string; blocking: boolean }[] = [];
  if (setup.modelSource === null)
    notes.push({
      note: `the target's model is unknown to bench; the reference is ${REFERENCE.model}`,
      blocking: false,
    });
  else if (setup.modelSource !== REFERENCE.model)
    notes.push({ note: `model ${setup.modelSource}, the reference is ${REFERENCE.model}`, blocking: true });
  if (setup.tokens !== REFERENCE.tokens)
    notes.push({ note: `${setup.tokens} tokens per stream, the reference used ${REFERENCE.tokens}`, blocking: true });
  if (setup.threads !== null && setup.threads !== REFERENCE.threads)
    notes.push({ note: `${setup.threads} threads, the reference used ${REFERENCE.threads}`, blocking: false });
  return notes;
}

export function summarize(
  levels: LevelSummary[],
  rounds: readonly RoundRecord[],
  setup: SetupFacts,
  overhead: OverheadSummary | null,
): BenchSummary {
  const ttft = overallTtft(rounds);
  const single = levels.find((l) => l.concurrency === 1) ?? null;
  const notes = comparabilityNotes(setup);
  const comparable = !notes.some((n) => n.blocking);
  // Ratios against another model's figures mean nothing: leave them out rather than print them.
  const otherModel = setup.modelSource !== null && setup.modelSource !== REFERENCE.model;
  const comparison: ComparisonRow[] = levels
    .filter(() => !otherModel)
    .filter((l) => REFERENCE.aggregateTokPerS[l.concurrency] !== undefined)
    .map((l) => {
      const reference = REFERENCE.aggregateTokPerS[l.concurrency]!;
      return {
        concurrency: l.concurrency,
        measured: l.aggregateTokPerS,
        reference,
        ratio: l.aggregateTokPerS === null ? null : l.aggregateTokPerS / reference,
      };
    });
  return {
    singleStreamDecodeTokPerS: single?.perStreamDecodeTokPerS ?? null,
    singleStreamTtftP50Ms: single?.ttftP50Ms ?? null,
    ttftP50Ms: ttft.p50,
    ttftP90Ms: ttft.p90,
    levels,
    comparable,
    comparisonNotes: notes.map((n) => n.note),
    comparison,
    ttftRatio: !otherModel && single?.ttftP50Ms != null ? single.ttftP50Ms / REFERENCE.ttftP50Ms : null,
    overhead,
    targets: evaluateTargets(levels, comparison, comparable),
  };
}

/** Overall TTFT percentiles over every successful request of every level. */
export function overallTtft(rounds: readonly RoundRecord[]): { p50: number | null; p90: number | null } {
  const ttfts = present(rounds.flatMap((r) => r.requests.filter((q) => q.error === null).map((q) => q.ttftMs)));
  return { p50: percentile(ttfts, 50), p90: percentile(ttfts, 90) };
}

export function evaluateTargets(
  levels: readonly LevelSummary[],
  comparison: readonly ComparisonRow[],
  comparable: boolean,
): TargetResult[] {
  const targets: TargetResult[] = [];
  const refLevels = Object.keys(REFERENCE.aggregateTokPerS)
    .map(Number)
    .sort((a, b) => a - b);
  const measured = refLevels.map((c) => comparison.find((r) => r.concurrency === c && r.ratio !== null) ?? null);
  const missing = refLevels.filter((_, i) => measured[i] === null);
  const shown = measured.filter((r) => r !== null).map((r) => `${r.concurrency}: ${(r.ratio! * 100).toFixed(0)}%`);
  const failing = measured.filter((r) => r !== null && r.ratio! < TARGETS.minAggregateRatio);
  let status: TargetResult["status"];
  if (!comparable || missing.length > 0) status = "n/a";
  else status = failing.length === 0 ? "met" : "not met";
  const why = !comparable
    ? "setup differs from the reference"
    : missing.length > 0
      ? `not measured at ${missing.join(", ")} streams`
      : "";
  targets.push({
    name: `aggregate tok/s >= ${TARGETS.minAggregateRatio * 100}% of llama-server at ${refLevels.join("/")} streams`,
    value: [shown.join(", "), why].filter((s) => s.length > 0).join("; "),
    status,
  });
  const four = levels.find((l) => l.concurrency === 4);
  const spd = four?.scheduler?.meanSequencesPerDecode ?? null;
  targets.push({
    name: `sequences per decode >= ${TARGETS.minSequencesPerDecodeAt4} at 4 streams`,
    value: spd !== null ? spd.toFixed(2) : four === undefined ? "4 streams not measured" : "no scheduler stats",
    status: spd === null ? "n/a" : spd >= TARGETS.minSequencesPerDecodeAt4 ? "met" : "not met",
  });
  return targets;
}

/** A fixed number of max_tokens=1 requests, `concurrency` at a time: the server's request rate. */
export interface ShortRequestsSummary {
  requests: number;
  concurrency: number;
  failed: number;
  /** First request start to last response end. */
  wallMs: number;
  /** Successful requests / wall time; null when any failed. */
  requestsPerS: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

export function summarizeShortRequests(timings: readonly StreamTiming[], concurrency: number): ShortRequestsSummary {
  const ok = timings.filter((t) => t.error === null);
  const wallMs =
    timings.length === 0
      ? 0
      : Math.max(...timings.map((t) => t.endedAt)) - Math.min(...timings.map((t) => t.startedAt));
  const latencies = ok.map((t) => t.endedAt - t.startedAt);
  return {
    requests: timings.length,
    concurrency,
    failed: timings.length - ok.length,
    wallMs: round2(wallMs),
    requestsPerS: wallMs > 0 && ok.length === timings.length ? round2((ok.length * 1000) / wallMs) : null,
    latencyP50Ms: nullable(percentile(latencies, 50), round2),
    latencyP95Ms: nullable(percentile(latencies, 95), round2),
  };
}

/**
 * Rounds of the same short-request run (interleaved between two servers) as one summary: the
 * median round's rate and latencies, failures summed (and shown beside the rate). The rate is the
 * median of the rounds that completed, null only when none did: one request lost to a closed
 * keep-alive connection no longer blanks a server's figure in the comparison.
 */
export function mergeShortRequestRounds(rounds: readonly ShortRequestsSummary[]): ShortRequestsSummary {
  if (rounds.length === 1) return rounds[0]!;
  const med = (f: (r: ShortRequestsSummary) => number | null): number | null =>
    nullable(median(present(rounds.map(f))), round2);
  return {
    requests: rounds[0]?.requests ?? 0,
    concurrency: rounds[0]?.concurrency ?? 0,
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    wallMs: med((r) => r.wallMs) ?? 0,
    requestsPerS: med((r) => r.requestsPerS),
    latencyP50Ms: med((r) => r.latencyP50Ms),
    latencyP95Ms: med((r) => r.latencyP95Ms),
  };
}

/**
 * TTFT at 1 stream from many requests sent one at a time (every round pooled): the 1-stream
 * level has one request per round, too few for a p50 that holds between runs.
 */
export interface TtftSeriesSummary {
  requests: number;
  failed: number;
  ttftP10Ms: number | null;
  ttftP50Ms: number | null;
  ttftP90Ms: number | null;
}

export function summarizeTtftSeries(timings: readonly StreamTiming[]): TtftSeriesSummary {
  const ttfts = present(timings.filter((t) => t.error === null).map(ttftMs));
  return {
    requests: timings.length,
    failed: timings.filter((t) => t.error !== null).length,
    ttftP10Ms: nullable(percentile(ttfts, 10), round2),
    ttftP50Ms: nullable(percentile(ttfts, 50), round2),
    ttftP90Ms: nullable(percentile(ttfts, 90), round2),
  };
}
