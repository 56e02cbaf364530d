// `lavash bench`: measures a streaming OpenAI-compatible server through its HTTP API (by default
// a `lavash serve` it starts itself), prints a table against llama-server's figures and writes
// every raw number to JSON. The pure parts live in bench/ with unit tests.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchHelp, defaultOutPath, parseBenchArgs, type BenchOptions } from "../../bench/args.js";
import type { BareResult } from "../../bench/bare-engine.js";
import { createAgent, getJson, streamPost } from "../../bench/http-client.js";
import { machineInfo } from "../../bench/machine.js";
import { killChildren, startLavashServer, stopChild, trackChild, type ServerProcess, type StopResult } from "../../bench/server-process.js";
import { decodeMsPerToken, tokenCount, ttftMs, type StreamTiming } from "../../bench/sse.js";
import { median } from "../../bench/stats.js";
import {
  REFERENCE,
  TARGETS,
  schedulerDelta,
  summarize,
  summarizeLevel,
  summarizeOverhead,
  toRequestRecord,
  toRoundRecord,
  type LevelSummary,
  type RequestRecord,
  type RoundRecord,
  type SchedulerCounters,
} from "../../bench/summary.js";
import { fmt, renderReport } from "../../bench/table.js";
import { physicalCores } from "./serve.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OVERHEAD_MODEL = "builtin:tiny";

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

interface Client {
  baseUrl: string;
  modelName: string;
  agent: ReturnType<typeof createAgent>;
  tokens: number;
  prompt: string;
  uniquePrompts: boolean;
}

function makeClient(baseUrl: string, modelName: string, options: BenchOptions, uniquePrompts: boolean): Client {
  return { baseUrl, modelName, agent: createAgent(baseUrl), tokens: options.tokens, prompt: options.prompt, uniquePrompts };
}

function completionBody(client: Client, seed: number, maxTokens: number): Record<string, unknown> {
  return {
    model: client.modelName,
    prompt: client.uniquePrompts ? `${seed}. ${client.prompt}` : client.prompt,
    max_tokens: maxTokens,
    temperature: 1,
    seed,
    stream: true,
    stream_options: { include_usage: true },
  };
}

/** Generous: a stalled server fails the request, a slow machine does not. */
function requestTimeoutMs(tokens: number): number {
  return 60_000 + tokens * 2_000;
}

function complete(client: Client, seed: number, maxTokens = client.tokens): Promise<StreamTiming> {
  return streamPost(`${client.baseUrl}/v1/completions`, completionBody(client, seed, maxTokens), client.agent, requestTimeoutMs(maxTokens));
}

async function firstModelName(baseUrl: string): Promise<string> {
  const { status, body } = await getJson(`${baseUrl}/v1/models`);
  const id = (body as { data?: { id?: unknown }[] } | null)?.data?.[0]?.id;
  if (status !== 200 || typeof id !== "string") throw new Error(`GET ${baseUrl}/v1/models gave no model (HTTP ${status}); pass --model-name`);
  return id;
}

/** lavash's scheduler counters, or null when the server has no /v1/status (not lavash). */
async function schedulerCounters(baseUrl: string): Promise<SchedulerCounters | null> {
  try {
    const { status, body } = await getJson(`${baseUrl}/v1/status`, 5_000);
    const stats = (body as { stats?: Record<string, unknown> } | null)?.stats;
    if (status !== 200 || typeof stats?.decodeSteps !== "number" || typeof stats.sequencesDecoded !== "number") return null;
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
async function warmUp(client: Client, seed: number): Promise<RequestRecord> {
  const timing = await complete(client, seed, Math.min(client.tokens, 8));
  if (timing.error !== null) throw new Error(`warm-up request failed: ${timing.error}`);
  return toRequestRecord(timing, { concurrency: 1, round: 0, index: 0, seed, roundStartedAt: timing.startedAt });
}

interface LevelsResult {
  rounds: RoundRecord[];
  levels: LevelSummary[];
  warmup: RequestRecord;
  schedulerStats: boolean;
}

async function runLevels(client: Client, options: BenchOptions): Promise<LevelsResult> {
  let seed = options.seed;
  const warmup = await warmUp(client, seed++);
  const hasStatus = (await schedulerCounters(client.baseUrl)) !== null;
  const rounds: RoundRecord[] = [];
  const levels: LevelSummary[] = [];
  for (const [levelIndex, c] of options.concurrency.entries()) {
    const before = hasStatus ? await schedulerCounters(client.baseUrl) : null;
    const levelRounds: RoundRecord[] = [];
    for (let round = 1; round <= options.repeat; round++) {
      const seeds = Array.from({ length: c }, () => seed++);
      const roundStartedAt = performance.now();
      const timings = await Promise.all(seeds.map((s) => complete(client, s)));
      const records = timings.map((t, index) => toRequestRecord(t, { concurrency: c, round, index, seed: seeds[index]!, roundStartedAt }));
      const record = toRoundRecord(c, round, timings, records);
      levelRounds.push(record);
      const ttft = median(timings.map(ttftMs).filter((v): v is number => v !== null));
      const failures = timings.filter((t) => t.error !== null);
      log(
        `[${levelIndex + 1}/${options.concurrency.length}] ${c} stream${c === 1 ? "" : "s"}, round ${round}/${options.repeat}: ` +
          `${fmt(record.aggregateTokPerS)} tok/s aggregate (${record.totalTokens} tokens in ${(record.wallMs / 1000).toFixed(2)} s), ` +
          `TTFT p50 ${fmt(ttft, 0)} ms` +
          (failures.length > 0 ? `, ${failures.length} FAILED: ${failures[0]!.error}` : ""),
      );
    }
    const after = before !== null ? await schedulerCounters(client.baseUrl) : null;
    const delta = before !== null && after !== null ? schedulerDelta(before, after) : null;
    rounds.push(...levelRounds);
    levels.push(summarizeLevel(c, levelRounds, delta));
  }
  return { rounds, levels, warmup, schedulerStats: hasStatus };
}

function startServer(options: BenchOptions, model: string, parallel: number, threads: number, logPath: string): Promise<ServerProcess> {
  log(`starting lavash serve --model ${model} --parallel ${parallel} --threads ${threads} --ctx-size ${options.ctxSize} (log: ${logPath})`);
  if (model.startsWith("builtin:")) log("a built-in model is generated on first use (the 0.5B shape takes ~12 s), then cached");
  return startLavashServer({
    bin: join(ROOT, "bin", "lavash.js"),
    cwd: ROOT,
    model,
    threads,
    parallel,
    ctxSize: options.ctxSize,
    logPath,
    onStartupLine: (line) => process.stderr.write(`  server: ${line}\n`),
    onWaiting: (ms) => log(`waiting for the server to load the model (${Math.round(ms / 1000)} s)`),
    startupTimeoutMs: 10 * 60_000,
  });
}

function runBareEngine(options: BenchOptions, threads: number): Promise<BareResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import", "tsx",
        join(ROOT, "bench", "bare-engine.ts"),
        "--model", OVERHEAD_MODEL,
        "--tokens", String(options.tokens),
        "--threads", String(threads),
        "--rounds", String(options.repeat),
        "--seed", String(options.seed),
        "--ctx-size", String(options.ctxSize),
        "--prompt", options.prompt,
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
    const client = makeClient(server.baseUrl, await firstModelName(server.baseUrl), options, false);
    await warmUp(client, options.seed + 10_000);
    for (let round = 1; round <= options.repeat; round++) {
      // The bare loop's seeds, so both generate the same tokens.
      const seed = options.seed + round - 1;
      const timing = await complete(client, seed);
      requests.push(toRequestRecord(timing, { concurrency: 1, round, index: 0, seed, roundStartedAt: timing.startedAt }));
      const ms = timing.error === null ? decodeMsPerToken(timing) : null;
      if (ms !== null) lavashMsPerToken.push(ms);
      log(`  lavash round ${round}/${options.repeat}: ${fmt(ms, 2)} ms/token (${tokenCount(timing)} tokens)${timing.error ? `, FAILED: ${timing.error}` : ""}`);
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

export async function benchCommand(args: string[]): Promise<number> {
  const options = parseBenchArgs(args);
  if (options === "help") {
    console.log(benchHelp());
    return 0;
  }
  const startedAt = new Date();
  const cores = physicalCores();
  const threads = options.threads ?? cores;
  const outPath = resolve(options.out ?? defaultOutPath(startedAt));
  mkdirSync(dirname(outPath), { recursive: true });
  const logBase = outPath.replace(/\.json$/i, "");

  // Children are in bench's process group, but a SIGTERM sent to bench alone would orphan them.
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    killChildren();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const machine = machineInfo(ROOT, cores);
    log(`${machine.cpuModel}, ${machine.logicalCores} logical / ${cores} physical cores, load average ${machine.loadAverage.join(" ")}`);
    // Decode threads spin-wait on each other: any other busy process distorts every figure.
    if (machine.loadAverage[0]! > 0.5 * machine.logicalCores) log("WARNING: the machine is busy (load average above); figures will be noisy");

    let server: ServerProcess | null = null;
    let baseUrl = options.target;
    if (baseUrl === null) {
      server = await startServer(options, options.model, options.parallel, threads, `${logBase}.server.log`);
      log(`server ready in ${(server.startupMs / 1000).toFixed(1)} s at ${server.baseUrl}`);
      baseUrl = server.baseUrl;
    }
    let result: LevelsResult;
    let modelName: string;
    let stop: StopResult | null = null;
    let client: Client | null = null;
    try {
      modelName = options.modelName ?? (await firstModelName(baseUrl));
      log(`model '${modelName}', ${options.tokens} tokens per stream, levels ${options.concurrency.join(",")}, ${options.repeat} round(s) each`);
      client = makeClient(baseUrl, modelName, options, options.uniquePrompts);
      result = await runLevels(client, options);
    } finally {
      client?.agent.destroy();
      if (server !== null) stop = await server.stop();
    }
    if (!result.schedulerStats) log("the server has no /v1/status: no scheduler statistics");

    const overhead = options.overhead ? await measureOverhead(options, threads, `${logBase}.overhead-server.log`) : null;
    const overheadSummary =
      overhead === null
        ? null
        : summarizeOverhead(OVERHEAD_MODEL, options.tokens, overhead.bare.rounds.map((r) => r.msPerToken), overhead.lavashMsPerToken);

    const summary = summarize(
      result.levels,
      result.rounds,
      { modelSource: options.target === null ? options.model : null, tokens: options.tokens, threads: options.target === null ? threads : null },
      overheadSummary,
    );
    const report = {
      version: 1,
      createdAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      argv: args,
      options: { ...options, threads },
      machine,
      loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      server:
        server === null
          ? { kind: "target", baseUrl, modelName, schedulerStats: result.schedulerStats }
          : {
              kind: "lavash (started by bench)",
              baseUrl,
              modelName,
              args: server.args,
              startupMs: Math.round(server.startupMs),
              peakRssBytes: stop?.peakRssBytes ?? null,
              stop,
              logPath: server.logPath,
              schedulerStats: result.schedulerStats,
            },
      definitions: {
        ttftMs: "request start to the first chunk with non-empty text",
        decodeTokPerS: "(tokens - 1) / (last text chunk - first text chunk), per request",
        aggregateTokPerS: "all tokens of a round / (first request start to last stream end); median over rounds",
        itlMs: "gaps between consecutive text chunks, pooled over a level's streams",
        sequencesPerDecode: "delta of /v1/status sequencesDecoded / decodeSteps over a level (decodes carrying no generated token are not counted)",
        tokens: "usage.completion_tokens of the final chunk, else the number of text chunks",
        promptCache: options.uniquePrompts
          ? "each prompt starts with its seed: no prompt reuse"
          : "one fixed prompt: a server may reuse it from a sequence's cache (lavash does: TTFT is then about one decode)",
        overhead: "tiny model, 1 sequence: bare native-batch loop in its own process vs one lavash stream over HTTP, decode ms/token, medians",
      },
      reference: REFERENCE,
      targets: TARGETS,
      // Every request's body but its seed (in rounds[].requests[].seed).
      request: { endpoint: "/v1/completions", body: completionBody(client!, options.seed, options.tokens) },
      warmup: result.warmup,
      rounds: result.rounds,
      overhead,
      summary,
    };
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);

    console.log(
      renderReport(
        {
          server: server === null ? `target ${baseUrl}` : "lavash",
          model: options.target === null ? options.model : modelName,
          tokens: options.tokens,
          repeat: options.repeat,
          threads: options.target === null ? threads : null,
          parallel: options.target === null ? options.parallel : null,
          peakRssBytes: stop?.peakRssBytes ?? null,
        },
        summary,
      ),
    );
    console.log(`\nresults: ${outPath}`);
    const failed = result.levels.reduce((n, l) => n + l.failed, 0) + (overhead?.requests.filter((r) => r.error !== null).length ?? 0);
    if (failed > 0) log(`${failed} request(s) failed; see the JSON and the server log`);
    return failed > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    killChildren();
  }
}
