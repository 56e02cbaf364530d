// The requests bench sends to one server: the throughput levels, the max_tokens=1 request rate,
// and the prefix-cache and fair-scheduling scenarios. Only OpenAI endpoints are required
// (/v1/models, /v1/completions, /v1/chat/completions); lavash's /v1/status is read when present.
import { closeIdleSockets, createAgent, getJson, streamPost, type StreamHooks } from "./http-client.js";
import { nonce, syntheticText, userTurn } from "./prompts.js";
import {
  summarizeFairness,
  toPrefixRecord,
  type BurstRun,
  type FairnessSummary,
  type FairnessWindows,
  type PrefixRequestRecord,
} from "./scenarios.js";
import { tokenCount, ttftMs, type StreamTiming } from "./sse.js";
import { median, present } from "./stats.js";
import {
  nullable,
  round2,
  toRequestRecord,
  toRoundRecord,
  type RequestRecord,
  type RoundRecord,
  type SchedulerCounters,
} from "./summary.js";
import { fmt } from "./table.js";

export type Log = (message: string) => void;

export interface Client {
  baseUrl: string;
  /** Sent with every request: Authorization when an API key is given. */
  headers: Record<string, string>;
  modelName: string;
  agent: ReturnType<typeof createAgent>;
  tokens: number;
  prompt: string;
  uniquePrompts: boolean;
}

export function authHeaders(apiKey: string | null): Record<string, string> {
  return apiKey === null ? {} : { Authorization: `Bearer ${apiKey}` };
}

export function makeClient(
  baseUrl: string,
  modelName: string,
  options: { tokens: number; prompt: string; apiKey: string | null },
  uniquePrompts: boolean,
): Client {
  return {
    baseUrl,
    headers: authHeaders(options.apiKey),
    modelName,
    agent: createAgent(baseUrl),
    tokens: options.tokens,
    prompt: options.prompt,
    uniquePrompts,
  };
}

const streaming = { stream: true, stream_options: { include_usage: true } } as const;

/** A streamed completion; `seeded` false leaves the seed out (it still makes a unique prompt unique). */
export function completionBody(
  client: Client,
  seed: number,
  maxTokens: number,
  seeded = true,
): Record<string, unknown> {
  return {
    model: client.modelName,
    prompt: client.uniquePrompts ? `${seed}. ${client.prompt}` : client.prompt,
    max_tokens: maxTokens,
    temperature: 1,
    ...(seeded ? { seed } : {}),
    ...streaming,
  };
}

/**
 * Generous: a stalled server fails the request, a slow machine does not (a 0.5B model on 2 busy
 * vCPUs was seen taking 45 s over a 2,000-token prompt). Prompt length in characters: ~4 per token.
 */
function requestTimeoutMs(maxTokens: number, promptChars: number): number {
  return 60_000 + maxTokens * 2_000 + Math.ceil(promptChars / 4) * 100;
}

function post(
  client: Client,
  path: string,
  body: Record<string, unknown>,
  hooks: StreamHooks = {},
): Promise<StreamTiming> {
  const timeoutMs = requestTimeoutMs(body.max_tokens as number, JSON.stringify(body.prompt ?? body.messages).length);
  return streamPost(`${client.baseUrl}${path}`, body, client.agent, timeoutMs, { ...hooks, headers: client.headers });
}

export function complete(
  client: Client,
  seed: number,
  maxTokens = client.tokens,
  hooks: StreamHooks = {},
): Promise<StreamTiming> {
  return post(client, "/v1/completions", completionBody(client, seed, maxTokens), hooks);
}

/** A streamed request with its own prompt (the scenarios' long prompts). */
function completeText(client: Client, prompt: string, seed: number, maxTokens: number): Promise<StreamTiming> {
  return post(client, "/v1/completions", {
    model: client.modelName,
    prompt,
    max_tokens: maxTokens,
    temperature: 1,
    seed,
    ...streaming,
  });
}

export async function firstModelName(baseUrl: string, apiKey: string | null): Promise<string> {
  const { status, body } = await getJson(`${baseUrl}/v1/models`, 10_000, authHeaders(apiKey));
  const id = (body as { data?: { id?: unknown }[] } | null)?.data?.[0]?.id;
  if (status !== 200 || typeof id !== "string")
    throw new Error(`GET ${baseUrl}/v1/models gave no model (HTTP ${status}); pass --model-id`);
  return id;
}

/** lavash's scheduler counters, or null when the server has no /v1/status (not lavash). */
export async function schedulerCounters(client: Client): Promise<SchedulerCounters | null> {
  try {
    const { status, body } = await getJson(`${client.baseUrl}/v1/status`, 5_000, client.headers);
    const stats = (body as { stats?: Record<string, unknown> } | null)?.stats;
    if (status !== 200 || typeof stats?.decodeSteps !== "number" || typeof stats.sequencesDecoded !== "number")
      return null;
    return {
      decodeSteps: stats.decodeSteps,
      sequencesDecoded: stats.sequencesDecoded,
      ...(typeof stats.tokensGenerated === "number" ? { tokensGenerated: stats.tokensGenerated } : {}),
    };
  } catch {
    return null;
  }
}

/** One short request first: graph allocation and first-use costs stay out of the figures. */
export async function warmUp(client: Client, seed: number): Promise<RequestRecord> {
  closeIdleSockets(client.agent);
  const timing = await complete(client, seed, Math.min(client.tokens, 8));
  if (timing.error !== null) throw new Error(`warm-up request to ${client.baseUrl} failed: ${timing.error}`);
  return toRequestRecord(timing, { concurrency: 1, round: 0, index: 0, seed, roundStartedAt: timing.startedAt });
}

/** `repeat` rounds of `c` concurrent streams; request seeds count up from `firstSeed`. */
export async function runLevel(
  client: Client,
  c: number,
  repeat: number,
  firstSeed: number,
  log: Log,
  label: string,
): Promise<RoundRecord[]> {
  const rounds: RoundRecord[] = [];
  for (let round = 1; round <= repeat; round++)
    rounds.push(await runRound(client, c, round, repeat, firstSeed + (round - 1) * c, log, label));
  return rounds;
}

/** One round of `c` concurrent streams with seeds `firstSeed`..`firstSeed + c - 1` (round `round` of `repeat`, for the log). */
export async function runRound(
  client: Client,
  c: number,
  round: number,
  repeat: number,
  firstSeed: number,
  log: Log,
  label: string,
): Promise<RoundRecord> {
  const seeds = Array.from({ length: c }, (_, i) => firstSeed + i);
  closeIdleSockets(client.agent);
  const roundStartedAt = performance.now();
  const timings = await Promise.all(seeds.map((s) => complete(client, s)));
  const records = timings.map((t, index) =>
    toRequestRecord(t, { concurrency: c, round, index, seed: seeds[index]!, roundStartedAt }),
  );
  const record = toRoundRecord(c, round, timings, records);
  const ttft = median(timings.map(ttftMs).filter((v): v is number => v !== null));
  const failures = timings.filter((t) => t.error !== null);
  log(
    `${label}${c} stream${c === 1 ? "" : "s"}, round ${round}/${repeat}: ` +
      `${fmt(record.aggregateTokPerS)} tok/s aggregate (${record.totalTokens} tokens in ${(record.wallMs / 1000).toFixed(2)} s), ` +
      `TTFT p50 ${fmt(ttft, 0)} ms` +
      (failures.length > 0 ? `, ${failures.length} FAILED: ${failures[0]!.error}` : ""),
  );
  return record;
}

/** `count` max_tokens=1 streamed requests, `concurrency` in flight at a time; seeds only if `seeded`. */
export async function runShortRequests(
  client: Client,
  count: number,
  concurrency: number,
  firstSeed: number,
  seeded: boolean,
): Promise<StreamTiming[]> {
  const timings: StreamTiming[] = new Array(count);
  let next = 0;
  closeIdleSockets(client.agent);
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      timings[i] = await post(client, "/v1/completions", completionBody(client, firstSeed + i, 1, seeded));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return timings;
}

// ---- prefix cache -------------------------------------------------------------------------------

export interface PrefixSettings {
  turns: number;
  systemTokens: number;
  seed: number;
}

/** Tokens generated per turn: TTFT is what is measured, the rest only has to finish. */
const PREFIX_MAX_TOKENS = 8;

function chat(
  client: Client,
  system: string,
  user: string,
  seed: number,
  maxTokens = PREFIX_MAX_TOKENS,
): Promise<StreamTiming> {
  const messages = [
    { role: "system", content: system },
    { role: "user", content: user },
  ];
  return post(client, "/v1/chat/completions", {
    model: client.modelName,
    messages,
    max_tokens: maxTokens,
    temperature: 1,
    seed,
    ...streaming,
  });
}

/**
 * The same `turns` user messages twice, one request at a time, each a fresh two-message chat:
 * first behind one shared system prompt (primed by one request that is not counted), then with
 * the system prompt starting with a request-unique nonce, so nothing but the chat template's
 * first few tokens can come from a cache.
 */
export async function runPrefix(
  client: Client,
  s: PrefixSettings,
  log: Log,
  label: string,
): Promise<PrefixRequestRecord[]> {
  const system = syntheticText(s.systemTokens, s.seed);
  const runId = Date.now() % 1_000_000;
  const records: PrefixRequestRecord[] = [];
  const one = async (
    series: PrefixRequestRecord["series"],
    index: number,
    systemPrompt: string,
    user: string,
  ): Promise<void> => {
    const record = toPrefixRecord(series, index, await chat(client, systemPrompt, user, s.seed + index));
    records.push(record);
    log(
      `${label}${series} ${series === "prime" ? "" : `${index + 1}/${s.turns} `}TTFT ${fmt(record.ttftMs, 0)} ms, ` +
        `prompt ${record.promptTokens ?? "?"} tokens, cached ${record.cachedTokens ?? "not reported"}` +
        (record.error !== null ? `, FAILED: ${record.error}` : ""),
    );
  };
  await one("prime", 0, system, "Hello.");
  for (let i = 0; i < s.turns; i++) await one("cached", i, system, userTurn(i));
  for (let i = 0; i < s.turns; i++) await one("uncached", i, `${nonce(runId, i)} ${system}`, userTurn(i));
  return records;
}

// ---- fair scheduling ----------------------------------------------------------------------------

export interface FairnessSettings {
  streams: number;
  longPromptTokens: number;
  /** max_tokens of each stream: enough to outlast the measurement (they are cancelled after it). */
  streamMaxTokens: number;
  /** The "before" window lasts at least this long and until each stream has `baselineGaps` more tokens (at most 60 s). */
  baselineMs: number;
  baselineGaps: number;
  seed: number;
}

export interface FairnessRun {
  summary: FairnessSummary;
  windows: FairnessWindows;
  solo: { ttftMs: number | null; promptTokens: number | null; error: string | null };
  long: { ttftMs: number | null; promptTokens: number | null; error: string | null };
  streams: {
    seed: number;
    textOffsetsMs: number[];
    tokens: number;
    finishReason: string | null;
    cancelled: boolean;
    error: string | null;
  }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ready` every 20 ms until it holds or `timeoutMs` passes; returns whether it held. */
async function waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!ready()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * The long prompt alone first (its prefill time, and the server's large-batch first use), then
 * `streams` streams; once each has a few tokens, a window of steady generation, then the long
 * prompt (with a different nonce, so it is evaluated in full) while they go on. The streams are
 * cancelled once each has two more tokens after the long prompt's first.
 */
export async function runFairness(client: Client, s: FairnessSettings, log: Log, label: string): Promise<FairnessRun> {
  const runId = Date.now() % 1_000_000;
  const longPrompt = (i: number): string => `${nonce(runId, i)} ${syntheticText(s.longPromptTokens, s.seed)}`;
  const longInfo = (t: StreamTiming): FairnessRun["long"] => ({
    ttftMs: nullable(ttftMs(t), round2),
    promptTokens: t.promptTokens,
    error: t.error,
  });

  const solo = await completeText(client, longPrompt(0), s.seed, 2);
  log(
    `${label}long prompt alone: first token after ${fmt(ttftMs(solo), 0)} ms (${solo.promptTokens ?? "?"} prompt tokens)${solo.error ? `, FAILED: ${solo.error}` : ""}`,
  );
  if (solo.error !== null)
    throw new Error(
      `the long prompt failed: ${solo.error} (a server needs a context of ${s.longPromptTokens} + tokens per sequence)`,
    );

  const controller = new AbortController();
  const reads = new Array<number>(s.streams).fill(0);
  const ended = new Array<boolean>(s.streams).fill(false);
  const seeds = Array.from({ length: s.streams }, (_, i) => s.seed + 1 + i);
  const origin = performance.now();
  const streams = seeds.map((seed, i) =>
    complete(client, seed, s.streamMaxTokens, { signal: controller.signal, onRead: () => reads[i]!++ }).then((t) => {
      ended[i] = true;
      return t;
    }),
  );
  const measure = async (): Promise<{ long: StreamTiming; windows: FairnessWindows }> => {
    if (!(await waitFor(() => reads.every((n) => n >= 4) || ended.some((e) => e), 120_000)) || ended.some((e) => e))
      throw new Error(`the ${s.streams} streams did not all start generating (see the server log)`);
    const baselineStart = performance.now();
    const atStart = [...reads];
    log(
      `${label}${s.streams} streams generating; at least ${s.baselineMs} ms and ${s.baselineGaps} tokens each of steady state, then the long prompt`,
    );
    await sleep(s.baselineMs);
    await waitFor(() => reads.every((n, i) => n >= atStart[i]! + s.baselineGaps || ended[i]), 60_000 - s.baselineMs);
    const long = await completeText(client, longPrompt(1), s.seed, 2);
    const longFirst = long.textTimes[0] ?? long.endedAt;
    log(
      `${label}long prompt during the streams: first token after ${fmt(longFirst - long.startedAt, 0)} ms${long.error ? `, FAILED: ${long.error}` : ""}`,
    );
    const after = [...reads];
    await waitFor(() => reads.every((n, i) => n >= after[i]! + 2 || ended[i]), 30_000);
    return {
      long,
      windows: {
        baselineStart: round2(baselineStart - origin),
        longStart: round2(long.startedAt - origin),
        longFirstToken: round2(longFirst - origin),
      },
    };
  };
  const { long, windows } = await measure().finally(() => controller.abort());
  const timings = await Promise.all(streams);
  const offsets = timings.map((t) => t.textTimes.map((at) => round2(at - origin)));
  const endedEarly = timings.filter((t) => !t.cancelled && t.endedAt - origin < windows.longFirstToken).length;
  const failed = timings.filter((t) => t.error !== null);
  if (failed.length > 0) throw new Error(`${failed.length} stream(s) failed: ${failed[0]!.error}`);
  return {
    summary: summarizeFairness(offsets, endedEarly, windows, ttftMs(solo), long.error),
    windows,
    solo: longInfo(solo),
    long: longInfo(long),
    streams: timings.map((t, i) => ({
      seed: seeds[i]!,
      textOffsetsMs: offsets[i]!,
      tokens: tokenCount(t),
      finishReason: t.finishReason,
      cancelled: t.cancelled,
      error: t.error,
    })),
  };
}

// ---- one at a time, then all at once ------------------------------------------------------------

export interface BurstSettings {
  /** Chats in each phase. */
  streams: number;
  systemTokens: number;
  maxTokens: number;
  /** Selects the round's system prompt (each round its own, so no round finds the last one's cached). */
  seed: number;
  round: number;
  rounds: number;
}

/**
 * The load that exposed starved prefills: `streams` streamed chats one after another behind the
 * same system prompt with different user turns, then `streams` more at once (new user turns, the
 * same system prompt). Phase 2 is what is measured: every request there shares a cached prefix
 * with phase 1's, so a server that admits new prompts into its decodes promptly starts them all
 * within a few decodes.
 */
export async function runBurst(client: Client, s: BurstSettings, log: Log, label: string): Promise<BurstRun> {
  const system = syntheticText(s.systemTokens, s.seed + s.round);
  const sequential: RequestRecord[] = [];
  closeIdleSockets(client.agent);
  for (let i = 0; i < s.streams; i++) {
    const seed = s.seed + i;
    const t = await chat(client, system, userTurn(i), seed, s.maxTokens);
    sequential.push(
      toRequestRecord(t, { concurrency: 1, round: s.round, index: i, seed, roundStartedAt: t.startedAt }),
    );
    if (t.error !== null) log(`${label}burst phase 1, chat ${i + 1}/${s.streams} FAILED: ${t.error}`);
  }
  const seeds = Array.from({ length: s.streams }, (_, i) => s.seed + s.streams + i);
  const roundStartedAt = performance.now();
  const timings = await Promise.all(
    seeds.map((seed, i) => chat(client, system, userTurn(s.streams + i), seed, s.maxTokens)),
  );
  const records = timings.map((t, index) =>
    toRequestRecord(t, { concurrency: s.streams, round: s.round, index, seed: seeds[index]!, roundStartedAt }),
  );
  const simultaneous = toRoundRecord(s.streams, s.round, timings, records);
  const ttfts = timings.map(ttftMs).filter((v): v is number => v !== null);
  const failures = timings.filter((t) => t.error !== null);
  log(
    `${label}burst round ${s.round}/${s.rounds}: ${s.streams} chats one at a time (TTFT p50 ${fmt(median(present(sequential.map((r) => r.ttftMs))), 0)} ms), ` +
      `then ${s.streams} at once: TTFT p50 ${fmt(median(ttfts), 0)} ms, max ${fmt(ttfts.length > 0 ? Math.max(...ttfts) : null, 0)} ms, ` +
      `${fmt(simultaneous.aggregateTokPerS)} tok/s aggregate` +
      (failures.length > 0 ? `, ${failures.length} FAILED: ${failures[0]!.error}` : ""),
  );
  return { round: s.round, sequential, simultaneous };
}
