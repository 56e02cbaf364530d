// `lavash bench`: measures streaming OpenAI-compatible servers through their HTTP API (by default
// a `lavash serve` it starts itself; `--target`/`--compare` for others, `--peer llama-server` to
// start llama.cpp's server beside it, two side by side), prints tables and writes every raw number
// to JSON, and the throughput figures as an SVG chart beside it. Scenarios: throughput (levels of
// concurrent streams, the max_tokens=1 request rate, "one at a time, then N at once"), prefix
// (prefix-cache TTFT), fairness (streams' latency while a long prompt is evaluated). The pure
// parts live in src/bench/ with unit tests.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  benchHelp,
  BURST,
  defaultOutPath,
  FAIRNESS_STREAMS,
  parseBenchArgs,
  type BenchOptions,
  type ServerSpec,
} from "../bench/args.js";
import type { BareResult } from "../bench/bare-engine.js";
import {
  compareBurst,
  compareFairness,
  comparePrefix,
  compareThroughput,
  throughputChartSvg,
  throughputFigures,
  type MetricRow,
  type ThroughputFigures,
} from "../bench/compare.js";
import { findLlamaServer, LAVASH_BATCH_SIZE, llamaServerArgs } from "../bench/llama-server.js";
import { machineInfo } from "../bench/machine.js";
import {
  SCENARIO_TARGETS,
  summarizeBurst,
  summarizePrefix,
  type BurstRun,
  type BurstSummary,
  type PrefixRequestRecord,
} from "../bench/scenarios.js";
import {
  freePort,
  killChildrenOnSignal,
  peakRss,
  sampleMemory,
  startLavashServer,
  startServerProcess,
  stopChild,
  trackChild,
  type MemoryReading,
  type ServerProcess,
  type StopResult,
} from "../bench/server-process.js";
import { decodeMsPerToken, type StreamTiming, tokenCount } from "../bench/sse.js";
import {
  REFERENCE,
  TARGETS,
  schedulerDelta,
  summarize,
  summarizeLevel,
  summarizeOverhead,
  mergeShortRequestRounds,
  summarizeShortRequests,
  summarizeTtftSeries,
  toRequestRecord,
  type BenchSummary,
  type LevelSummary,
  type RequestRecord,
  type RoundRecord,
  type ShortRequestsSummary,
  type TtftSeriesSummary,
} from "../bench/summary.js";
import {
  fmt,
  renderBurst,
  renderComparison,
  renderFairness,
  renderPrefix,
  renderReport,
  renderShortRequests,
  renderTtftSeries,
} from "../bench/table.js";
import {
  complete,
  completionBody,
  firstModelName,
  makeClient,
  runFairness,
  runBurst,
  runPrefix,
  runRound,
  runShortRequests,
  schedulerCounters,
  warmUp,
  type Client,
  type FairnessRun,
} from "../bench/workloads.js";
import { ensureBuiltinModel } from "../models/builtin.js";
import { physicalCores } from "./serve.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OVERHEAD_MODEL = "builtin:tiny";

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

function startServer(
  options: BenchOptions,
  model: string,
  parallel: number,
  threads: number,
  logPath: string,
): Promise<ServerProcess> {
  const extraArgs = options.prefillChunk === null ? [] : ["--prefill-chunk", String(options.prefillChunk)];
  log(
    `starting lavash serve --model ${model} --parallel ${parallel} --threads ${threads} --ctx-size ${options.ctxSize} ${extraArgs.join(" ")}(log: ${logPath})`,
  );
  if (model.startsWith("builtin:"))
    log("a built-in model is generated on first use (the 0.5B shape takes ~12 s), then cached");
  return startLavashServer({
    bin: join(ROOT, "bin", "lavash.cjs"),
    cwd: ROOT,
    model,
    threads,
    parallel,
    ctxSize: options.ctxSize,
    extraArgs,
    logPath,
    onStartupLine: (line) => process.stderr.write(`  server: ${line}\n`),
    onWaiting: (ms) => log(`waiting for the server to load the model (${Math.round(ms / 1000)} s)`),
    startupTimeoutMs: 10 * 60_000,
  });
}

/** The GGUF file lavash serves for `--model SRC`, for the peer to load the same bytes. */
async function peerModelPath(source: string): Promise<string> {
  // lavash's `alias=source` form: the peer needs only the source.
  const eq = source.indexOf("=");
  const plain =
    eq > 0 && !source.slice(0, eq).includes("/") && !source.startsWith("hf:") ? source.slice(eq + 1) : source;
  if (plain.startsWith("builtin:")) {
    let lastReport = 0;
    return ensureBuiltinModel(plain.slice("builtin:".length), {
      onProgress: (p) => {
        if (p.stage === "weights" && Date.now() - lastReport > 3000) {
          lastReport = Date.now();
          log(`generating ${plain}: ${Math.round(p.fraction * 100)}%`);
        }
      },
    });
  }
  if (plain.startsWith("hf:"))
    throw new Error(
      `--peer needs the model as a local file: download it first (lavash pull ${plain}) and pass its .gguf path to --model`,
    );
  if (!existsSync(plain)) throw new Error(`model file not found: ${plain}`);
  return resolve(plain);
}

/** llama-server on the same GGUF, threads, context per sequence, batch and sampling as the lavash bench starts. */
async function startLlamaServer(
  options: BenchOptions,
  binary: string,
  threads: number,
  logPath: string,
): Promise<ServerProcess> {
  const modelPath = await peerModelPath(options.model);
  const port = await freePort();
  const args = llamaServerArgs({
    modelPath,
    port,
    threads,
    parallel: options.parallel,
    ctxPerSequence: options.ctxSize,
    batchSize: LAVASH_BATCH_SIZE,
    extraArgs: options.peerArgs,
  });
  log(`starting ${binary} ${args.join(" ")} (log: ${logPath})`);
  let lines = 0;
  return startServerProcess({
    command: binary,
    args,
    cwd: ROOT,
    env: process.env,
    baseUrl: `http://127.0.0.1:${port}`,
    logPath,
    // llama-server prints a hundred lines while loading; the log file has them all.
    onStartupLine: (line) => {
      if (++lines <= 3 || /error|failed/i.test(line)) process.stderr.write(`  llama-server: ${line}\n`);
    },
    onWaiting: (ms) => log(`waiting for llama-server to load the model (${Math.round(ms / 1000)} s)`),
    startupTimeoutMs: 5 * 60_000,
  });
}

// ---- the servers ---------------------------------------------------------------------------------

interface BenchServer {
  /** "A"/"B" when two are compared (A the baseline), else "". */
  tag: string;
  label: string;
  /** For the chart's legend: "lavash", "llama-server", or the URL. */
  shortName: string;
  kind: "target" | "lavash (started by bench)" | "llama-server (started by bench)";
  baseUrl: string;
  modelName: string;
  process: ServerProcess | null;
  client: Client;
  memory: { stop(): MemoryReading } | null;
  /** Set by closeServers. */
  memoryReading: MemoryReading | null;
  stop: StopResult | null;
}

async function openServer(
  spec: ServerSpec,
  tag: string,
  options: BenchOptions,
  threads: number,
  logPath: string,
  peerBin: string | null,
): Promise<BenchServer> {
  let started: ServerProcess | null = null;
  if (spec.url === null) {
    started =
      spec.start === "llama-server"
        ? await startLlamaServer(options, peerBin!, threads, logPath)
        : await startServer(options, options.model, options.parallel, threads, logPath);
    log(`server ready in ${(started.startupMs / 1000).toFixed(1)} s at ${started.baseUrl}`);
  }
  const baseUrl = started?.baseUrl ?? spec.url!;
  const pid = started?.pid ?? spec.pid;
  // The started server's id is the preset's; --model-id names the model of the servers given by URL.
  const modelName =
    spec.url !== null && options.modelName !== null ? options.modelName : await firstModelName(baseUrl, options.apiKey);
  const kind: BenchServer["kind"] =
    spec.url !== null
      ? "target"
      : spec.start === "llama-server"
        ? "llama-server (started by bench)"
        : "lavash (started by bench)";
  const label =
    spec.url !== null
      ? `${spec.url}${pid !== null ? ` (pid ${pid})` : ""}`
      : spec.start === "llama-server"
        ? `llama-server (started by bench, ${options.model})`
        : `lavash (started by bench, ${options.model})`;
  const shortName = spec.url !== null ? spec.url : spec.start === "llama-server" ? "llama-server" : "lavash";
  log(
    `${tag ? `${tag} = ` : ""}${label}: model '${modelName}'${pid === null ? "; no pid, so no memory figure (--target-pid)" : ""}`,
  );
  return {
    tag,
    label,
    shortName,
    kind,
    baseUrl,
    modelName,
    process: started,
    client: makeClient(baseUrl, modelName, options, options.uniquePrompts),
    memory: pid === null ? null : sampleMemory(pid),
    memoryReading: null,
    stop: null,
  };
}

async function closeServers(servers: BenchServer[]): Promise<void> {
  for (const s of servers) {
    s.memoryReading = s.memory?.stop() ?? null;
    s.client.agent.destroy();
    if (s.process !== null) s.stop = await s.process.stop();
  }
}

function serverRecord(s: BenchServer): Record<string, unknown> {
  return {
    tag: s.tag || null,
    label: s.label,
    kind: s.kind,
    baseUrl: s.baseUrl,
    modelName: s.modelName,
    ...(s.process === null
      ? {}
      : { args: s.process.args, startupMs: Math.round(s.process.startupMs), logPath: s.process.logPath, stop: s.stop }),
    memory: s.memoryReading,
    peakRssBytes: peakRss(s.memoryReading),
  };
}

const prefix = (s: BenchServer): string => (s.tag ? `${s.tag}: ` : "");

// ---- scenarios ----------------------------------------------------------------------------------

interface ThroughputResult {
  warmup: RequestRecord;
  schedulerStats: boolean;
  rounds: RoundRecord[];
  levels: LevelSummary[];
  short: { summary: ShortRequestsSummary; rounds: ShortRequestsSummary[]; requests: RequestRecord[] } | null;
  ttftSeries: { summary: TtftSeriesSummary; requests: RequestRecord[] } | null;
  burst: { summary: BurstSummary; runs: BurstRun[] } | null;
}

/**
 * The order of the servers in round `round` (1-based): with two, A B in odd rounds and B A in even
 * ones, so neither always runs right after the other (a machine that heats up, or another process
 * that starts, hits both alike).
 */
function roundOrder<T>(servers: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...servers] : [...servers].reverse();
}

/**
 * `options.repeat` rounds of `count` max_tokens=1 requests (`concurrency` at a time) on every
 * server in turn, each round logged with `describe`: per server, each round's timings and the
 * request records of all of them.
 */
async function shortRequestRounds(
  servers: readonly BenchServer[],
  options: BenchOptions,
  seed: number,
  count: number,
  concurrency: number,
  describe: (timings: StreamTiming[]) => string,
): Promise<{ rounds: StreamTiming[][]; requests: RequestRecord[] }[]> {
  const perServer = servers.map(() => ({ rounds: [] as StreamTiming[][], requests: [] as RequestRecord[] }));
  for (let round = 1; round <= options.repeat; round++) {
    for (const [i, s] of roundOrder([...servers.entries()], round)) {
      const timings = await runShortRequests(s.client, count, concurrency, seed, options.seededShort);
      const startedAt = Math.min(...timings.map((t) => t.startedAt));
      log(`${prefix(s)}round ${round}/${options.repeat}: ${describe(timings)}`);
      perServer[i]!.rounds.push(timings);
      perServer[i]!.requests.push(
        ...timings.map((t, index) =>
          toRequestRecord(t, { concurrency, round, index, seed: seed + index, roundStartedAt: startedAt }),
        ),
      );
    }
  }
  return perServer;
}

/**
 * Level by level, and within a level round by round on every server in turn (same seeds), so a
 * noisy shared machine disturbs both servers' figures alike instead of one server's level.
 */
async function runThroughput(servers: BenchServer[], options: BenchOptions): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  for (const s of servers) {
    const warmup = await warmUp(s.client, options.seed);
    const schedulerStats = (await schedulerCounters(s.client)) !== null;
    if (!schedulerStats) log(`${prefix(s)}the server has no /v1/status: no scheduler statistics`);
    results.push({ warmup, schedulerStats, rounds: [], levels: [], short: null, ttftSeries: null, burst: null });
  }
  const entries = [...servers.entries()];
  const interleaved = servers.length > 1 ? ", rounds interleaved between the servers" : "";
  log(
    `${options.tokens} tokens per stream, levels ${options.concurrency.join(",")}, ${options.repeat} round(s) each${interleaved}`,
  );
  let seed = options.seed + 1;
  for (const [levelIndex, c] of options.concurrency.entries()) {
    const before = await Promise.all(
      entries.map(([i, s]) => (results[i]!.schedulerStats ? schedulerCounters(s.client) : Promise.resolve(null))),
    );
    const rounds: RoundRecord[][] = servers.map(() => []);
    for (let round = 1; round <= options.repeat; round++) {
      for (const [i, s] of roundOrder(entries, round)) {
        const label = `[${levelIndex + 1}/${options.concurrency.length}] ${prefix(s)}`;
        rounds[i]!.push(await runRound(s.client, c, round, options.repeat, seed + (round - 1) * c, log, label));
      }
    }
    for (const [i, s] of entries) {
      const after = before[i] !== null ? await schedulerCounters(s.client) : null;
      const r = results[i]!;
      r.rounds.push(...rounds[i]!);
      r.levels.push(
        summarizeLevel(c, rounds[i]!, before[i] !== null && after !== null ? schedulerDelta(before[i]!, after) : null),
      );
    }
    seed += c * options.repeat;
  }
  if (options.shortRequests > 0) {
    log(
      `${options.shortRequests} max_tokens=1 requests, ${options.shortConcurrency} at a time, ${options.repeat} round(s)${interleaved}`,
    );
    const perServer = await shortRequestRounds(
      servers,
      options,
      seed,
      options.shortRequests,
      options.shortConcurrency,
      (t) => renderShortRequests(summarizeShortRequests(t, options.shortConcurrency)),
    );
    for (const [i] of entries) {
      const rounds = perServer[i]!.rounds.map((t) => summarizeShortRequests(t, options.shortConcurrency));
      results[i]!.short = { summary: mergeShortRequestRounds(rounds), rounds, requests: perServer[i]!.requests };
    }
    seed += options.shortRequests;
  }
  if (options.ttftRequests > 0) {
    log(
      `TTFT at 1 stream: ${options.ttftRequests} max_tokens=1 requests one at a time, ${options.repeat} round(s)${interleaved}`,
    );
    const perServer = await shortRequestRounds(servers, options, seed, options.ttftRequests, 1, (t) =>
      renderTtftSeries(summarizeTtftSeries(t)),
    );
    for (const [i] of entries)
      results[i]!.ttftSeries = {
        summary: summarizeTtftSeries(perServer[i]!.rounds.flat()),
        requests: perServer[i]!.requests,
      };
    seed += options.ttftRequests;
  }
  if (options.burst > 0) {
    log(
      `${options.burst} chats one at a time behind a ~${BURST.systemTokens}-token system prompt, then ${options.burst} at once, ${options.burstRounds} round(s)${interleaved}`,
    );
    const runs: BurstRun[][] = servers.map(() => []);
    for (let round = 1; round <= options.burstRounds; round++) {
      for (const [i, s] of roundOrder(entries, round)) {
        const settings = {
          streams: options.burst,
          systemTokens: BURST.systemTokens,
          maxTokens: BURST.maxTokens,
          seed,
          round,
          rounds: options.burstRounds,
        };
        runs[i]!.push(await runBurst(s.client, settings, log, prefix(s)));
      }
    }
    for (const [i] of entries) results[i]!.burst = { summary: summarizeBurst(options.burst, runs[i]!), runs: runs[i]! };
  }
  return results;
}

async function runPrefixScenario(servers: BenchServer[], options: BenchOptions): Promise<PrefixRequestRecord[][]> {
  const results: PrefixRequestRecord[][] = [];
  for (const s of servers) {
    await warmUp(s.client, options.seed);
    log(
      `${prefix(s)}prefix cache: ~${options.systemTokens}-token system prompt, ${options.turns} turns cached, then ${options.turns} with a unique first token`,
    );
    results.push(
      await runPrefix(
        s.client,
        { turns: options.turns, systemTokens: options.systemTokens, seed: options.seed },
        log,
        prefix(s),
      ),
    );
  }
  return results;
}

async function runFairnessScenario(servers: BenchServer[], options: BenchOptions): Promise<FairnessRun[]> {
  const results: FairnessRun[] = [];
  for (const s of servers) {
    await warmUp(s.client, options.seed);
    log(`${prefix(s)}fairness: ${FAIRNESS_STREAMS} streams, then a ~${options.longPromptTokens}-token prompt`);
    const settings = {
      streams: FAIRNESS_STREAMS,
      longPromptTokens: options.longPromptTokens,
      // Outlasts the measurement at any speed; the streams are cancelled right after it.
      streamMaxTokens: Math.max(16, Math.min(2048, options.ctxSize - 64)),
      baselineMs: options.quick ? 1500 : 3000,
      baselineGaps: options.quick ? 8 : 16,
      seed: options.seed,
    };
    results.push(await runFairness(s.client, settings, log, prefix(s)));
  }
  return results;
}

// ---- per-token overhead (tiny model) ----------------------------------------------------------------

function runBareEngine(options: BenchOptions, threads: number): Promise<BareResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        // The same build as this file: dist/ runs as JavaScript, src/ (tests) through tsx.
        ...(import.meta.url.endsWith(".ts") ? ["--import", "tsx"] : []),
        fileURLToPath(new URL(`../bench/bare-engine${extname(fileURLToPath(import.meta.url))}`, import.meta.url)),
        "--model",
        OVERHEAD_MODEL,
        "--tokens",
        String(options.tokens),
        "--threads",
        String(threads),
        "--rounds",
        String(options.repeat),
        "--seed",
        String(options.seed),
        "--ctx-size",
        String(options.ctxSize),
        "--prompt",
        options.prompt,
      ],
      // Its own process with a 1-thread libuv pool: the configuration lavash serve runs with.
      { cwd: ROOT, env: { ...process.env, UV_THREADPOOL_SIZE: "1" }, stdio: ["ignore", "pipe", "inherit"] },
    );
    trackChild(child);
    let stdout = "";
    child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    const timer = setTimeout(() => void stopChild(child, 2000), 5 * 60_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`bench/bare-engine.ts exited with code ${code}`));
      try {
        resolvePromise(JSON.parse(stdout.trim().split("\n").pop() ?? "") as BareResult);
      } catch {
        reject(new Error(`bench/bare-engine.ts printed no result: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

interface OverheadRun {
  bare: BareResult;
  server: { args: string[]; startupMs: number; peakRssBytes: number | null; logPath: string; stop: StopResult };
  requests: RequestRecord[];
  lavashMsPerToken: number[];
}

/**
 * Per-token cost of lavash over the bare engine on the tiny model, where the engine's own time
 * per token is small enough for the server's share to show. The server gets one sequence, as the
 * bare loop has, so the difference is the server's work and not a different KV layout.
 */
async function measureOverhead(options: BenchOptions, threads: number, logPath: string): Promise<OverheadRun> {
  log(`per-token overhead: bare engine on ${OVERHEAD_MODEL}, ${options.tokens} tokens, ${options.repeat} round(s)`);
  const bare = await runBareEngine(options, threads);
  const server = await startServer(options, OVERHEAD_MODEL, 1, threads, logPath);
  const requests: RequestRecord[] = [];
  const lavashMsPerToken: number[] = [];
  let stop: StopResult;
  try {
    // Fixed prompt even with --unique-prompts: the bare loop has no prompt cache to compare with,
    // and only decode time per token is compared.
    const client = makeClient(server.baseUrl, await firstModelName(server.baseUrl, options.apiKey), options, false);
    await warmUp(client, options.seed + 10_000);
    for (let round = 1; round <= options.repeat; round++) {
      // The bare loop's seeds, so both generate the same tokens.
      const seed = options.seed + round - 1;
      const timing = await complete(client, seed);
      requests.push(
        toRequestRecord(timing, { concurrency: 1, round, index: 0, seed, roundStartedAt: timing.startedAt }),
      );
      const ms = timing.error === null ? decodeMsPerToken(timing) : null;
      if (ms !== null) lavashMsPerToken.push(ms);
      log(
        `  lavash round ${round}/${options.repeat}: ${fmt(ms, 2)} ms/token (${tokenCount(timing)} tokens)${timing.error ? `, FAILED: ${timing.error}` : ""}`,
      );
    }
    client.agent.destroy();
  } finally {
    stop = await server.stop();
  }
  return {
    bare,
    server: { args: server.args, startupMs: server.startupMs, peakRssBytes: stop.peakRssBytes, logPath, stop },
    requests,
    lavashMsPerToken,
  };
}

const DEFINITIONS = {
  throughput: {
    ttftMs: "request start to the first chunk with non-empty text",
    decodeTokPerS: "(tokens - 1) / (last text chunk - first text chunk), per request",
    aggregateTokPerS: "all tokens of a round / (first request start to last stream end); median over rounds",
    itlMs: "gaps between consecutive text chunks, pooled over a level's streams",
    sequencesPerDecode:
      "delta of /v1/status sequencesDecoded / decodeSteps over a level (decodes carrying no generated token are not counted)",
    tokens: "usage.completion_tokens of the final chunk, else the number of text chunks",
    shortRequests:
      "streamed /v1/completions with max_tokens 1, a fixed number, N in flight: successful requests / (first start to last end)",
    ttftSeries:
      "streamed /v1/completions with max_tokens 1 sent one at a time, a fixed number per round, every round pooled: TTFT p10/p50/p90; " +
      "when present, the comparison's 'TTFT p50 (1 stream)' is this p50 instead of the 1-stream level's (one request per round)",
    overhead:
      "tiny model, 1 sequence: bare native-batch loop in its own process vs one lavash stream over HTTP, decode ms/token, medians",
  },
  prefix:
    "streamed chat completions one at a time, [system, user]; 'cached': the same system prompt each time (after one priming request), " +
    "'uncached': the system prompt starts with a request-unique nonce; TTFT = request start to the first chunk with content; " +
    "cachedTokens = usage.prompt_tokens_details.cached_tokens of the final chunk",
  fairness:
    "streams' inter-token gaps wholly inside [baselineStart, longStart] (before) and overlapping (longStart, longFirstToken) (during); " +
    "the long prompt is a streamed /v1/completions with max_tokens 2 and a unique first token",
  peakRssBytes:
    "VmHWM of /proc/PID/status when the run ended (peak since the process started), else the largest VmRSS sampled every 500 ms",
  ratios:
    "B / A: the second server's figure over the first's (the --compare or --peer peer, or the first --target, is A)",
  interleaving:
    "with two servers, every level's rounds (and the short-request and burst rounds) alternate between them: A B, then B A, ...",
  burst:
    "streamed chats [system, user_i] with max_tokens 64: N one at a time, then N at once behind the same ~256-token system prompt (each round its own); " +
    "TTFT p50/p95 and aggregate tok/s (all tokens / first start to last end) of the second phase, medians over rounds",
} as const;

export async function benchCommand(args: string[]): Promise<number> {
  // Inference-time scaling runs in-process: it compares two ways of driving one engine.
  const at = args.indexOf("--scenario");
  if (at >= 0 && args[at + 1] === "its") return (await import("../bench/its-efficiency.js")).itsEfficiencyBench(args);
  // The gateway scenario starts its own fleet of replicas and gateways (src/bench/gateway-scenario.ts).
  if (at >= 0 && args[at + 1] === "gateway") return (await import("../bench/gateway-scenario.js")).gatewayBench(args);
  const options = parseBenchArgs(args);
  if (options === "help") {
    console.log(benchHelp());
    return 0;
  }
  // Before anything starts: a missing peer binary is a build away, and the message says which.
  const peerBin = options.servers.some((s) => s.start === "llama-server")
    ? findLlamaServer(ROOT, options.peerBin)
    : null;
  const startedAt = new Date();
  const cores = physicalCores();
  const threads = options.threads ?? cores;
  const outPath = resolve(options.out ?? defaultOutPath(startedAt));
  mkdirSync(dirname(outPath), { recursive: true });
  const logBase = outPath.replace(/\.json$/i, "");

  const releaseChildren = killChildrenOnSignal(log);
  try {
    const machine = machineInfo(ROOT, cores);
    log(
      `${machine.cpuModel}, ${machine.logicalCores} logical / ${cores} physical cores, load average ${machine.loadAverage.join(" ")}`,
    );
    // Decode threads spin-wait on each other: any other busy process distorts every figure.
    if (machine.loadAverage[0]! > 0.5 * machine.logicalCores)
      log("WARNING: the machine is busy (load average above); figures will be noisy");
    log(`scenario ${options.scenario}`);

    const comparing = options.servers.length === 2;
    const servers: BenchServer[] = [];
    let throughput: ThroughputResult[] | null = null;
    let prefixRuns: PrefixRequestRecord[][] | null = null;
    let fairness: FairnessRun[] | null = null;
    try {
      for (const [i, spec] of options.servers.entries())
        servers.push(
          await openServer(
            spec,
            comparing ? "AB"[i]! : "",
            options,
            threads,
            `${logBase}.server${comparing ? `-${"AB"[i]}` : ""}.log`,
            peerBin,
          ),
        );
      if (options.scenario === "throughput") throughput = await runThroughput(servers, options);
      else if (options.scenario === "prefix") prefixRuns = await runPrefixScenario(servers, options);
      else fairness = await runFairnessScenario(servers, options);
    } finally {
      await closeServers(servers);
    }

    const overhead = options.overhead
      ? await measureOverhead(options, threads, `${logBase}.overhead-server.log`)
      : null;
    const overheadSummary =
      overhead === null
        ? null
        : summarizeOverhead(
            OVERHEAD_MODEL,
            options.tokens,
            overhead.bare.rounds.map((r) => r.msPerToken),
            overhead.lavashMsPerToken,
          );

    const out: string[] = [];
    const results: Record<string, unknown>[] = [];
    let comparison: MetricRow[] | null = null;
    let figures: ThroughputFigures[] | null = null;
    let failed = overhead?.requests.filter((r) => r.error !== null).length ?? 0;
    const title = (s: BenchServer): string => `${prefix(s)}${s.label}`;
    if (throughput !== null) {
      const summaries: BenchSummary[] = throughput.map((r, i) => {
        const started = servers[i]!.process !== null;
        const setup = {
          modelSource: started ? options.model : null,
          tokens: options.tokens,
          threads: started ? threads : null,
        };
        return summarize(r.levels, r.rounds, setup, i === 0 ? overheadSummary : null);
      });
      for (const [i, s] of servers.entries()) {
        const r = throughput[i]!;
        failed +=
          r.levels.reduce((n, l) => n + l.failed, 0) + (r.short?.summary.failed ?? 0) + (r.burst?.summary.failed ?? 0);
        const started = s.process !== null;
        out.push(
          renderReport(
            {
              server: title(s),
              model: started ? options.model : s.modelName,
              tokens: options.tokens,
              repeat: options.repeat,
              threads: started ? threads : null,
              parallel: started ? options.parallel : null,
              peakRssBytes: peakRss(s.memoryReading),
            },
            summaries[i]!,
            r.short?.summary ?? null,
            r.ttftSeries?.summary ?? null,
          ),
        );
        if (r.burst !== null) out.push(renderBurst(r.burst.summary));
        results.push({
          request: { endpoint: "/v1/completions", body: completionBody(s.client, options.seed, options.tokens) },
          warmup: r.warmup,
          schedulerStats: r.schedulerStats,
          rounds: r.rounds,
          shortRequests: r.short,
          ttftSeries: r.ttftSeries,
          burst: r.burst,
          summary: summaries[i],
        });
      }
      figures = throughput.map((r, i) =>
        throughputFigures(
          summaries[i]!,
          r.short?.summary ?? null,
          peakRss(servers[i]!.memoryReading),
          r.ttftSeries?.summary ?? null,
        ),
      );
      if (comparing) {
        comparison = compareThroughput(figures[0]!, figures[1]!, throughput[0]!.short?.summary ?? null);
        const [a, b] = [throughput[0]!.burst, throughput[1]!.burst];
        if (a !== null && b !== null) comparison.push(...compareBurst(a.summary, b.summary));
      }
    }
    if (prefixRuns !== null) {
      const summaries = prefixRuns.map(summarizePrefix);
      for (const [i, s] of servers.entries()) {
        failed +=
          summaries[i]!.cached.failed +
          summaries[i]!.uncached.failed +
          prefixRuns[i]!.filter((r) => r.series === "prime" && r.error !== null).length;
        out.push(renderPrefix(title(s), summaries[i]!));
        results.push({ requests: prefixRuns[i], summary: summaries[i] });
      }
      if (comparing) comparison = comparePrefix(summaries[0]!, summaries[1]!);
    }
    if (fairness !== null) {
      for (const [i, s] of servers.entries()) {
        if (fairness[i]!.long.error !== null) failed++;
        out.push(renderFairness(title(s), fairness[i]!.summary));
        results.push({ ...fairness[i] });
      }
      if (comparing) comparison = compareFairness(fairness[0]!.summary, fairness[1]!.summary);
    }
    if (comparison !== null) out.push(renderComparison([servers[0]!.label, servers[1]!.label], comparison));

    const report = {
      version: 2,
      createdAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      argv: args,
      scenario: options.scenario,
      // The key itself stays out of the file.
      options: { ...options, apiKey: options.apiKey === null ? null : "(set)", threads },
      machine,
      loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      servers: servers.map((s, i) => ({ ...serverRecord(s), results: results[i] })),
      comparison,
      definitions: DEFINITIONS,
      reference: options.scenario === "throughput" ? REFERENCE : null,
      targets: options.scenario === "throughput" ? TARGETS : SCENARIO_TARGETS,
      overhead,
    };
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
    // The throughput figures drawn beside the JSON: tok/s and TTFT against streams, a line per server.
    let chartPath: string | null = null;
    if (figures !== null) {
      chartPath = `${outPath.replace(/\.json$/i, "")}.svg`;
      const setup = [
        options.model,
        `${options.tokens} tokens/stream`,
        `${threads} threads`,
        `parallel ${options.parallel}`,
        `ctx ${options.ctxSize}/sequence`,
        `medians of ${options.repeat} round(s)${comparing ? ", interleaved" : ""}`,
        `commit ${machine.gitCommit?.slice(0, 7) ?? "?"}${machine.gitDirty ? "+" : ""}`,
        startedAt.toISOString().slice(0, 16).replace("T", " "),
      ].join(", ");
      const title = comparing ? `${servers[1]!.shortName} vs ${servers[0]!.shortName}` : servers[0]!.shortName;
      writeFileSync(
        chartPath,
        throughputChartSvg(
          title,
          setup,
          servers.map((s, i) => ({ name: s.shortName, figures: figures![i]! })),
        ),
      );
    }

    console.log(out.join("\n\n"));
    console.log(`\nresults: ${outPath}`);
    if (chartPath !== null) console.log(`chart: ${chartPath}`);
    if (failed > 0) log(`${failed} request(s) failed; see the JSON and the server log`);
    return failed > 0 ? 1 : 0;
  } finally {
    releaseChildren();
  }
}
