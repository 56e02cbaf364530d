// `lavash bench --scenario gateway` (issue #15): lavash replicas behind lavash's gateway, one
// routing policy at a time, on a multi-tenant chat workload (gateway-workload.ts), against the
// same workload sent to one replica directly; then the gateway's own cost per request. Every
// server is a real `lavash serve` process on 127.0.0.1 that bench starts and stops; request
// counts are fixed and every request has a timeout.
//
//   npm run bench -- --scenario gateway [--replicas 3] [--tenants 16] [--concurrency 12] ...
//
// Progress on stderr; a table on stdout; every request in the JSON file; bars in an SVG beside it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { defaultOutPath } from "./args.js";
import {
  compareGatewayRuns,
  GATEWAY_POLICIES,
  GATEWAY_TARGETS,
  gatewayChartSvg,
  renderGatewayReport,
  summarizeGatewayOverhead,
  summarizeRun,
  type GatewayOverheadSummary,
  type GatewayPolicy,
  type GatewayRequestRecord,
  type OverheadPair,
  type RunSummary,
} from "./gateway-report.js";
import {
  contextNeeded,
  requestSeed,
  streamedText,
  TurnQueue,
  totalRequests,
  turnMessages,
  type GatewayWorkload,
} from "./gateway-workload.js";
import { createAgent, streamPost } from "./http-client.js";
import { machineInfo } from "./machine.js";
import {
  freePort,
  killChildrenOnSignal,
  startLavashServer,
  startServerProcess,
  type ServerProcess,
  type StopResult,
} from "./server-process.js";
import { tokenCount, ttftMs } from "./sse.js";
import { percentile, present } from "./stats.js";
import { nullable, round2 } from "./summary.js";
import { fmt } from "./table.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "lavash.cjs");
/** The upstream model's name in the gateway's config (what the client asks the gateway for). */
const GATEWAY_MODEL = "bench";

export const GATEWAY_DEFAULTS = {
  model: "builtin:tiny",
  replicas: 3,
  tenants: 16,
  conversations: 2,
  turns: 4,
  systemTokens: 1000,
  maxTokens: 16,
  concurrency: 12,
  /** Sequences per replica: room for the ~5-6 tenants cache_aware gives each of 3 replicas, not for all 16. */
  parallel: 8,
  /** Context per sequence: the system prompt, 4 turns of history and the answer (contextNeeded). */
  ctxSize: 1536,
  threads: 1,
  overheadPairs: 200,
  seed: 1234,
} as const;

interface GatewayOptions {
  model: string;
  replicas: number;
  workload: GatewayWorkload;
  concurrency: number;
  parallel: number;
  /** Sequences of the single replica of the reference run: the fleet's whole KV capacity by default. */
  referenceParallel: number;
  ctxSize: number;
  threads: number;
  overheadPairs: number;
  policies: GatewayPolicy[];
  /** Each conversation's next turn as soon as its answer ended, instead of behind the other open conversations. */
  closedLoop: boolean;
  /** `cache_probe: true` on every replica: cache_aware asks the replicas' /v1/cache/match instead of its trees. */
  cacheProbe: boolean;
  out: string | null;
}

export function gatewayHelp(): string {
  const d = GATEWAY_DEFAULTS;
  return `Usage: lavash bench --scenario gateway [options]

Starts N lavash replicas (real 'lavash serve' processes on 127.0.0.1) and lavash's gateway in
front of them, once per routing policy (fresh replicas each time: cold caches, the same requests),
and drives a multi-tenant chat workload: T tenants, each with its own ~S-token system prompt and C
conversations of K turns (every turn sends the history and the previous answers back), W
requests in flight (a conversation's next turn waits behind the other open conversations' turns,
unless --closed-loop). Reports per policy the prefix-cache hit rate (the replicas' cached_tokens
/ prompt_tokens), TTFT p50/p95 and aggregate tok/s; the same workload against one replica directly
(the reference hit rate); and the gateway's cost per request (max_tokens=1, one replica, direct
and through the gateway, interleaved). Targets: hit rate >= ${GATEWAY_TARGETS.minHitRateOfSingle} of the single replica's, TTFT
p50 >= ${GATEWAY_TARGETS.minTtftReductionVsRoundRobin * 100}% lower than round_robin's, overhead <= ${GATEWAY_TARGETS.maxOverheadP50Ms} ms p50.

Options:
  --model SRC             the replicas' model (default: ${d.model})
  --replicas N            replicas behind the gateway (default: ${d.replicas})
  --policies LIST         routing policies, in order (default: ${GATEWAY_POLICIES.join(",")})
  --tenants N             tenants, each with its own system prompt (default: ${d.tenants})
  --conversations N       conversations per tenant (default: ${d.conversations})
  --turns N               requests per conversation (default: ${d.turns})
  --system-tokens N       tokens of each system prompt (default: ${d.systemTokens})
  --max-tokens N          tokens per answer (default: ${d.maxTokens})
  --concurrency N         requests in flight (default: ${d.concurrency})
  --closed-loop           send a conversation's next turn as soon as its answer ended (each worker
                          one conversation at a time) instead of behind the other open conversations
  --cache-probe           cache_probe: true on every replica (cache_aware routes on the replicas'
                          own POST /v1/cache/match answers instead of its prefix trees)
  --parallel N            sequences per replica (default: ${d.parallel})
  --reference-parallel N  sequences of the single reference replica (default: replicas x parallel)
  --ctx-size N            context per sequence (default: ${d.ctxSize})
  --threads N             llama.cpp threads per replica (default: ${d.threads})
  --overhead-pairs N      direct/gateway request pairs for the overhead, 0 for none (default: ${d.overheadPairs})
  --seed N                seed of the prompts and requests (default: ${d.seed})
  --out FILE              results JSON (default: bench-results/bench-gateway-<timestamp>.json); the SVG beside it
  --help                  show this help`;
}

function int(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${String(raw)}'`);
  return n;
}

export function parseGatewayArgs(args: string[]): GatewayOptions | "help" {
  const names = [
    "model",
    "replicas",
    "policies",
    "tenants",
    "conversations",
    "turns",
    "system-tokens",
    "max-tokens",
    "concurrency",
    "parallel",
    "reference-parallel",
    "ctx-size",
    "threads",
    "overhead-pairs",
    "seed",
    "out",
    "scenario",
  ] as const;
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean" },
      "closed-loop": { type: "boolean" },
      "cache-probe": { type: "boolean" },
      ...Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
    },
  });
  if (values.help === true) return "help";
  const d = GATEWAY_DEFAULTS;
  const v = values as Record<string, unknown>;
  const policies = (typeof v.policies === "string" ? v.policies.split(",") : [...GATEWAY_POLICIES])
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  for (const p of policies)
    if (!(GATEWAY_POLICIES as readonly string[]).includes(p))
      throw new Error(`--policies takes ${GATEWAY_POLICIES.join(", ")}; got '${p}'`);
  const workload: GatewayWorkload = {
    tenants: int(v, "tenants", d.tenants, 1, 1000),
    conversationsPerTenant: int(v, "conversations", d.conversations, 1, 1000),
    turns: int(v, "turns", d.turns, 1, 100),
    systemTokens: int(v, "system-tokens", d.systemTokens, 1, 100_000),
    maxTokens: int(v, "max-tokens", d.maxTokens, 1, 4096),
    seed: int(v, "seed", d.seed, 0, 2 ** 31 - 1),
  };
  const replicas = int(v, "replicas", d.replicas, 1, 16);
  const parallel = int(v, "parallel", d.parallel, 1, 256);
  const ctxSize = int(v, "ctx-size", d.ctxSize, 16, 1 << 20);
  const needed = contextNeeded(workload);
  if (needed > ctxSize)
    throw new Error(
      `${workload.turns} turns behind a ${workload.systemTokens}-token system prompt need a --ctx-size of about ${needed}, got ${ctxSize}`,
    );
  return {
    model: typeof v.model === "string" ? v.model : d.model,
    replicas,
    workload,
    concurrency: int(v, "concurrency", d.concurrency, 1, 256),
    parallel,
    referenceParallel: int(v, "reference-parallel", replicas * parallel, 1, 1024),
    ctxSize,
    threads: int(v, "threads", d.threads, 1, 1024),
    overheadPairs: int(v, "overhead-pairs", d.overheadPairs, 0, 100_000),
    policies: [...new Set(policies)] as GatewayPolicy[],
    closedLoop: values["closed-loop"] === true,
    cacheProbe: values["cache-probe"] === true,
    out: typeof v.out === "string" ? v.out : null,
  };
}

const inFlight = (o: GatewayOptions): string =>
  `${o.concurrency} requests in flight, ${o.closedLoop ? "closed loop" : "turns interleaved"}${o.cacheProbe ? ", cache probes" : ""}`;

const log = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

// ---- servers -------------------------------------------------------------------------------------

interface Replica {
  name: string;
  process: ServerProcess;
  modelName: string;
}

function startReplica(o: GatewayOptions, name: string, parallel: number, logPath: string): Promise<ServerProcess> {
  return startLavashServer({
    bin: BIN,
    cwd: ROOT,
    model: o.model,
    threads: o.threads,
    parallel,
    ctxSize: o.ctxSize,
    logPath,
    onStartupLine: (line) => {
      if (/error|failed/i.test(line)) process.stderr.write(`  ${name}: ${line}\n`);
    },
    onWaiting: (ms) => log(`waiting for ${name} to load the model (${Math.round(ms / 1000)} s)`),
    startupTimeoutMs: 5 * 60_000,
  });
}

async function modelId(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/models`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { data?: { id?: unknown }[] };
  const id = body.data?.[0]?.id;
  if (typeof id !== "string") throw new Error(`GET ${baseUrl}/v1/models gave no model`);
  return id;
}

async function startReplicas(o: GatewayOptions, count: number, parallel: number, logBase: string): Promise<Replica[]> {
  const names = Array.from({ length: count }, (_, i) => `r${i}`);
  log(
    `starting ${count} replica(s): lavash serve --model ${o.model} --threads ${o.threads} --parallel ${parallel} --ctx-size ${o.ctxSize}`,
  );
  const settled = await Promise.allSettled(names.map((n) => startReplica(o, n, parallel, `${logBase}.${n}.log`)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    for (const s of settled) if (s.status === "fulfilled") await s.value.stop(2000);
    throw (failed as PromiseRejectedResult).reason;
  }
  const processes = settled.map((s) => (s as PromiseFulfilledResult<ServerProcess>).value);
  return Promise.all(
    processes.map(async (p, i) => ({ name: names[i]!, process: p, modelName: await modelId(p.baseUrl) })),
  );
}

/** The gateway's --config: one upstream group of the replicas, with `policy`; the rest its defaults. */
export function gatewayConfig(
  replicas: readonly { name: string; baseUrl: string; modelName: string }[],
  policy: GatewayPolicy,
  cacheProbe = false,
) {
  return {
    models: [
      {
        id: GATEWAY_MODEL,
        replicas: replicas.map((r) => ({
          base_url: `${r.baseUrl}/v1`,
          model: r.modelName,
          name: r.name,
          ...(cacheProbe ? { cache_probe: true } : {}),
        })),
        routing: { policy },
      },
    ],
  };
}

async function startGateway(
  replicas: readonly Replica[],
  policy: GatewayPolicy,
  cacheProbe: boolean,
  configDir: string,
  logPath: string,
): Promise<ServerProcess> {
  const configPath = join(configDir, `gateway-${policy}-${replicas.length}.json`);
  writeFileSync(
    configPath,
    `${JSON.stringify(
      gatewayConfig(
        replicas.map((r) => ({ name: r.name, baseUrl: r.process.baseUrl, modelName: r.modelName })),
        policy,
        cacheProbe,
      ),
      null,
      2,
    )}\n`,
  );
  const port = await freePort();
  const args = [BIN, "serve", "--config", configPath, "--host", "127.0.0.1", "--port", String(port)];
  log(
    `starting the gateway: lavash serve --config ${configPath} (policy ${policy}${cacheProbe ? ", cache_probe" : ""}, ${replicas.length} replica(s))`,
  );
  return startServerProcess({
    command: process.execPath,
    args,
    recordedArgs: args.slice(1),
    cwd: ROOT,
    env: process.env,
    baseUrl: `http://127.0.0.1:${port}`,
    logPath,
    onStartupLine: (line) => {
      if (/error|failed/i.test(line)) process.stderr.write(`  gateway: ${line}\n`);
    },
    onWaiting: (ms) => log(`waiting for the gateway (${Math.round(ms / 1000)} s)`),
    startupTimeoutMs: 60_000,
  });
}

interface Target {
  /** Where the client sends: the gateway's or the replica's base URL. */
  baseUrl: string;
  model: string;
  /** The replica's name when requests go to it directly (a gateway names it in x-lavash-replica). */
  replica: string | null;
}

const REQUEST_TIMEOUT_MS = 120_000;

function chatBody(model: string, messages: unknown, maxTokens: number, seed: number): Record<string, unknown> {
  return {
    model,
    messages,
    max_tokens: maxTokens,
    temperature: 1,
    seed,
    stream: true,
    stream_options: { include_usage: true },
  };
}

/** One short request (not counted): connections and first-use costs stay out of the figures. */
async function warmUp(target: Target): Promise<void> {
  const agent = createAgent(target.baseUrl);
  const t = await streamPost(
    `${target.baseUrl}/v1/chat/completions`,
    chatBody(target.model, [{ role: "user", content: "Warm up." }], 2, 1),
    agent,
    REQUEST_TIMEOUT_MS,
  );
  agent.destroy();
  if (t.error !== null) throw new Error(`warm-up request to ${target.baseUrl} failed: ${t.error}`);
}

// ---- the workload --------------------------------------------------------------------------------

interface WorkloadRun {
  records: GatewayRequestRecord[];
  wallMs: number;
}

/**
 * `concurrency` requests in flight: each worker takes the next turn of the queue (TurnQueue: the
 * conversations in turn), sends it with the earlier answers, and queues its conversation's next
 * turn with the new answer. A worker stops when the queue is empty: every unfinished conversation
 * is then in flight on a worker, which goes on with it.
 */
async function runWorkload(
  target: Target,
  w: GatewayWorkload,
  concurrency: number,
  closedLoop: boolean,
  label: string,
): Promise<WorkloadRun> {
  const queue = new TurnQueue(w, closedLoop);
  const total = totalRequests(w);
  const agent = createAgent(target.baseUrl);
  const records: GatewayRequestRecord[] = [];
  const progressEvery = Math.max(1, Math.round(total / 8));
  const origin = performance.now();
  const worker = async (): Promise<void> => {
    for (let next = queue.take(); next !== null; next = queue.take()) {
      const { conversation: c, turn } = next;
      const seed = requestSeed(w, c, turn);
      let replica = target.replica;
      let text = "";
      const timing = await streamPost(
        `${target.baseUrl}/v1/chat/completions`,
        chatBody(target.model, turnMessages(w, c, turn, next.answers), w.maxTokens, seed),
        agent,
        REQUEST_TIMEOUT_MS,
        {
          onResponse: (_status, headers) => {
            const name = headers["x-lavash-replica"];
            if (typeof name === "string") replica = name;
          },
          onEvents: (events) => (text = streamedText(events)),
        },
      );
      queue.answered(next, text);
      records.push({
        tenant: c.tenant,
        conversation: c.conversation,
        turn,
        seed,
        startMs: round2(timing.startedAt - origin),
        ttftMs: nullable(ttftMs(timing), round2),
        totalMs: round2(timing.endedAt - timing.startedAt),
        tokens: tokenCount(timing),
        promptTokens: timing.promptTokens,
        cachedTokens: timing.cachedTokens,
        replica,
        error: timing.error,
      });
      if (timing.error !== null)
        log(`${label}tenant ${c.tenant} conversation ${c.conversation} turn ${turn} FAILED: ${timing.error}`);
      if (records.length % progressEvery === 0 || records.length === total) {
        const s = summarizeRun(label, records, performance.now() - origin);
        log(
          `${label}${records.length}/${total} requests: hit rate ${fmt(s.hitRate, 3)}, TTFT p50 ${fmt(s.ttftP50Ms, 0)} ms, ` +
            `p95 ${fmt(s.ttftP95Ms, 0)} ms, ${fmt(s.aggregateTokPerS)} tok/s${s.failed > 0 ? `, ${s.failed} failed` : ""}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - origin;
  agent.destroy();
  records.sort((a, b) => a.startMs - b.startMs);
  return { records, wallMs };
}

/**
 * `pairs` pairs of max_tokens=1 requests, one at a time, each pair one straight to the replica and
 * one through the gateway (the order alternating), after 10 pairs not counted. The same short
 * prompt every time, so the replica's own work is the same (its prompt is cached).
 */
async function measureOverhead(direct: Target, gateway: Target, pairs: number): Promise<OverheadPair[]> {
  const agents = { direct: createAgent(direct.baseUrl), gateway: createAgent(gateway.baseUrl) };
  const messages = [{ role: "user", content: "Say one word." }];
  const one = async (t: Target, agent: ReturnType<typeof createAgent>) => {
    const timing = await streamPost(
      `${t.baseUrl}/v1/chat/completions`,
      chatBody(t.model, messages, 1, 7),
      agent,
      REQUEST_TIMEOUT_MS,
    );
    return timing.error === null
      ? { ms: timing.endedAt - timing.startedAt, ttft: ttftMs(timing) }
      : { ms: null, ttft: null };
  };
  const out: OverheadPair[] = [];
  for (let i = -10; i < pairs; i++) {
    const gatewayFirst = i % 2 !== 0;
    const first = await one(gatewayFirst ? gateway : direct, gatewayFirst ? agents.gateway : agents.direct);
    const second = await one(gatewayFirst ? direct : gateway, gatewayFirst ? agents.direct : agents.gateway);
    const [d, g] = gatewayFirst ? [second, first] : [first, second];
    if (i >= 0)
      out.push({
        directMs: nullable(d.ms, round2),
        gatewayMs: nullable(g.ms, round2),
        directTtftMs: nullable(d.ttft, round2),
        gatewayTtftMs: nullable(g.ttft, round2),
      });
    if (i >= 0 && (i + 1) % 50 === 0) {
      const ok = out.filter((p) => p.directMs !== null && p.gatewayMs !== null);
      log(
        `  overhead ${i + 1}/${pairs} pairs: p50 ${fmt(percentile(present(ok.map((p) => p.directMs)), 50), 2)} ms direct, ` +
          `${fmt(percentile(present(ok.map((p) => p.gatewayMs)), 50), 2)} ms through the gateway`,
      );
    }
  }
  agents.direct.destroy();
  agents.gateway.destroy();
  return out;
}

// ---- the scenario ------------------------------------------------------------------------------

interface ServerRecord {
  name: string;
  args: string[];
  startupMs: number;
  logPath: string;
  stop: StopResult | null;
}

interface RunRecord {
  label: string;
  gateway: ServerRecord | null;
  replicas: ServerRecord[];
  records: GatewayRequestRecord[];
  summary: RunSummary;
}

const serverRecord = (name: string, p: ServerProcess, stop: StopResult | null): ServerRecord => ({
  name,
  args: p.args,
  startupMs: Math.round(p.startupMs),
  logPath: p.logPath,
  stop,
});

async function stopAll(
  gateway: ServerProcess | null,
  replicas: readonly Replica[],
): Promise<{
  gateway: StopResult | null;
  replicas: StopResult[];
}> {
  const g = gateway === null ? null : await gateway.stop(5000);
  return { gateway: g, replicas: await Promise.all(replicas.map((r) => r.process.stop(5000))) };
}

async function runPolicy(
  o: GatewayOptions,
  policy: GatewayPolicy,
  configDir: string,
  logBase: string,
): Promise<RunRecord> {
  const replicas = await startReplicas(o, o.replicas, o.parallel, `${logBase}.${policy}`);
  let gateway: ServerProcess | null = null;
  try {
    for (const r of replicas) await warmUp({ baseUrl: r.process.baseUrl, model: r.modelName, replica: r.name });
    gateway = await startGateway(replicas, policy, o.cacheProbe, configDir, `${logBase}.${policy}.gateway.log`);
    const target = { baseUrl: gateway.baseUrl, model: GATEWAY_MODEL, replica: null };
    await warmUp(target);
    log(`[${policy}] ${totalRequests(o.workload)} requests, ${inFlight(o)}`);
    const run = await runWorkload(target, o.workload, o.concurrency, o.closedLoop, `[${policy}] `);
    const stops = await stopAll(gateway, replicas);
    return {
      label: policy,
      gateway: serverRecord("gateway", gateway, stops.gateway),
      replicas: replicas.map((r, i) => serverRecord(r.name, r.process, stops.replicas[i]!)),
      records: run.records,
      summary: summarizeRun(policy, run.records, run.wallMs),
    };
  } catch (error) {
    await stopAll(gateway, replicas);
    throw error;
  }
}

/** The workload straight to one replica (the reference hit rate), then the overhead pairs through a gateway in front of it. */
async function runSingle(
  o: GatewayOptions,
  configDir: string,
  logBase: string,
): Promise<{ run: RunRecord; overhead: { pairs: OverheadPair[]; summary: GatewayOverheadSummary } | null }> {
  const replicas = await startReplicas(o, 1, o.referenceParallel, `${logBase}.single`);
  const r = replicas[0]!;
  let gateway: ServerProcess | null = null;
  try {
    const direct = { baseUrl: r.process.baseUrl, model: r.modelName, replica: r.name };
    await warmUp(direct);
    const label = "single replica";
    log(
      `[${label}] ${totalRequests(o.workload)} requests straight to one replica (--parallel ${o.referenceParallel}), ${inFlight(o)}`,
    );
    const run = await runWorkload(direct, o.workload, o.concurrency, o.closedLoop, `[${label}] `);
    let overhead: { pairs: OverheadPair[]; summary: GatewayOverheadSummary } | null = null;
    if (o.overheadPairs > 0) {
      gateway = await startGateway(replicas, "cache_aware", o.cacheProbe, configDir, `${logBase}.overhead.gateway.log`);
      log(
        `gateway overhead: ${o.overheadPairs} pairs of max_tokens=1 requests, direct and through the gateway, interleaved`,
      );
      const pairs = await measureOverhead(
        direct,
        { baseUrl: gateway.baseUrl, model: GATEWAY_MODEL, replica: null },
        o.overheadPairs,
      );
      overhead = { pairs, summary: summarizeGatewayOverhead(pairs) };
    }
    const stops = await stopAll(gateway, replicas);
    return {
      run: {
        label,
        gateway: gateway === null ? null : serverRecord("gateway", gateway, stops.gateway),
        replicas: [serverRecord(r.name, r.process, stops.replicas[0]!)],
        records: run.records,
        summary: summarizeRun(label, run.records, run.wallMs),
      },
      overhead,
    };
  } catch (error) {
    await stopAll(gateway, replicas);
    throw error;
  }
}

const DEFINITIONS = {
  workload:
    "streamed chat completions; tenant t's system prompt is syntheticText(systemTokens, seed + 7919 (t + 1)); each conversation's turn n sends " +
    "[system, user 1, answer 1, ..., user n] with the answers the model gave; every conversation is open from the start (every tenant's first, then every tenant's second, ...); " +
    "`concurrency` requests in flight, each the next turn of a queue in which an answered conversation goes to the back with its next turn " +
    "(closedLoop: to the front, so its worker sends it as soon as the answer ended)",
  hitRate:
    "sum of usage.prompt_tokens_details.cached_tokens / sum of usage.prompt_tokens over the run's successful requests",
  ttftMs: "request sent to the first chunk with content",
  aggregateTokPerS: "sum of usage.completion_tokens / (first request sent to last stream ended)",
  replicasPerTenant: "mean over tenants of the number of replicas that served the tenant's requests",
  singleReplica:
    "the same workload sent straight to one replica with --parallel referenceParallel (default: the fleet's replicas x parallel, so the same KV capacity in one cache)",
  overhead:
    "one replica; pairs of streamed max_tokens=1 chat requests one at a time, direct and through a gateway in front of it, the order alternating; request time = sent to stream ended; overheadP50Ms = p50(gateway) - p50(direct)",
} as const;

export async function gatewayBench(args: string[]): Promise<number> {
  const o = parseGatewayArgs(args);
  if (o === "help") {
    console.log(gatewayHelp());
    return 0;
  }
  if (process.env.LAVASH_API_KEY !== undefined) {
    // The replicas and the gateway would read it and want it; this scenario's servers run without keys.
    log("LAVASH_API_KEY is ignored: the scenario's servers run without keys");
    delete process.env.LAVASH_API_KEY;
  }
  const startedAt = new Date();
  const outPath = resolve(o.out ?? defaultOutPath(startedAt).replace("bench-", "bench-gateway-"));
  mkdirSync(dirname(outPath), { recursive: true });
  const logBase = outPath.replace(/\.json$/i, "");
  const configDir = mkdtempSync(join(tmpdir(), "lavash-bench-gateway-"));
  const releaseChildren = killChildrenOnSignal(log);
  try {
    const machine = machineInfo(ROOT, availableParallelism());
    log(`${machine.cpuModel}, ${machine.logicalCores} logical cores, load average ${machine.loadAverage.join(" ")}`);
    if (machine.loadAverage[0]! > 0.5 * machine.logicalCores)
      log("WARNING: the machine is busy (load average above); figures will be noisy");
    const w = o.workload;
    log(
      `scenario gateway: ${o.replicas} replicas of ${o.model} (${o.threads} thread(s), --parallel ${o.parallel}, --ctx-size ${o.ctxSize} per sequence); ` +
        `${w.tenants} tenants x ${w.conversationsPerTenant} conversations x ${w.turns} turns = ${totalRequests(w)} requests per run, ` +
        `~${w.systemTokens}-token system prompts, ${w.maxTokens} tokens per answer, ${inFlight(o)}`,
    );
    const runs: RunRecord[] = [];
    for (const policy of o.policies) runs.push(await runPolicy(o, policy, configDir, logBase));
    const single = await runSingle(o, configDir, logBase);
    runs.push(single.run);

    const summaries = runs.map((r) => r.summary);
    const comparison = compareGatewayRuns(
      summaries.filter((s) => s.label !== single.run.label),
      single.run.summary,
      single.overhead?.summary ?? null,
    );
    const report = {
      version: 2,
      createdAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      argv: args,
      scenario: "gateway",
      options: o,
      machine,
      loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      runs,
      overhead: single.overhead,
      comparison,
      targets: GATEWAY_TARGETS,
      definitions: DEFINITIONS,
    };
    writeFileSync(outPath, `${JSON.stringify(report, null, 2)}\n`);
    const chartPath = `${logBase}.svg`;
    const subtitle = [
      `${o.replicas} x ${o.model}`,
      `${o.threads} thread(s), parallel ${o.parallel}, ctx ${o.ctxSize}/sequence`,
      `${w.tenants} tenants x ${w.conversationsPerTenant} conversations x ${w.turns} turns, ${inFlight(o)}`,
      `commit ${machine.gitCommit?.slice(0, 7) ?? "?"}${machine.gitDirty ? "+" : ""}`,
      `load ${machine.loadAverage[0]}`,
      startedAt.toISOString().slice(0, 16).replace("T", " "),
    ].join(", ");
    writeFileSync(chartPath, gatewayChartSvg(summaries, subtitle));
    console.log(renderGatewayReport(summaries, single.overhead?.summary ?? null, comparison));
    console.log(`\nresults: ${outPath}\nchart: ${chartPath}`);
    log(`load average at the end ${report.loadAverageAtEnd.join(" ")}; ${report.durationS} s in all`);
    const failed = summaries.reduce((n, s) => n + s.failed, 0) + (single.overhead?.summary.failed ?? 0);
    if (failed > 0) log(`${failed} request(s) failed; see the JSON and the server logs`);
    return failed > 0 ? 1 : 0;
  } finally {
    releaseChildren();
    rmSync(configDir, { recursive: true, force: true });
  }
}
