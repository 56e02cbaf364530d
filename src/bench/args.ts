// `lavash bench` options.
import { parseArgs } from "node:util";

export type Scenario = "throughput" | "prefix" | "fairness";
export const SCENARIOS: readonly Scenario[] = ["throughput", "prefix", "fairness"];

/** One server to measure: a URL given on the command line, or (url null) a `lavash serve` bench starts. */
export interface ServerSpec {
  /** Base URL (no trailing slash, no /v1), or null for a server bench starts. */
  url: string | null;
  /** Process id whose memory to read (/proc/PID/status); bench knows its own server's. */
  pid: number | null;
  /** Present when bench starts a peer instead of lavash (url null): `--peer llama-server`. */
  start?: Peer;
}

/** Servers bench can start as the peer of the lavash it starts. */
export type Peer = "llama-server";
export const PEERS: readonly Peer[] = ["llama-server"];

export interface BenchOptions {
  scenario: Scenario;
  /**
   * The servers to measure, one or two. With two, the first is the baseline and ratios are
   * second / first: `--target A --target B` gives B/A, `--compare PEER` gives lavash/PEER.
   */
  servers: ServerSpec[];
  /** `--model` source for the server bench starts (unused when it starts none). */
  model: string;
  /** Model id to send to --target/--compare servers; null: each server's first of GET /v1/models. */
  modelName: string | null;
  /** Sent as `Authorization: Bearer KEY` to every server: --api-key, else $LAVASH_API_KEY (which a started lavash also reads). */
  apiKey: string | null;
  tokens: number;
  concurrency: number[];
  repeat: number;
  /** Output JSON path; null: bench-results/bench-<timestamp>.json. */
  out: string | null;
  /** llama.cpp threads; null: physical cores. */
  threads: number | null;
  parallel: number;
  ctxSize: number;
  /** --prefill-chunk for the started server; null: its default. */
  prefillChunk: number | null;
  /** Run the per-token overhead comparison on the tiny model (bare engine vs lavash). */
  overhead: boolean;
  prompt: string;
  /**
   * Prefix each request's prompt with its seed so no server can reuse a cached prompt: TTFT then
   * includes evaluating the whole prompt. Off by default: the fixed prompt is what the reference used.
   */
  uniquePrompts: boolean;
  /** max_tokens=1 requests for the requests/s figure (0: not measured), and how many at a time. */
  shortRequests: number;
  /** Streamed max_tokens=1 requests one at a time per round, for the 1-stream TTFT (0: from the 1-stream level). */
  ttftRequests: number;
  shortConcurrency: number;
  /**
   * Send seeds with the max_tokens=1 requests (rate and 1-stream TTFT) too. Off by default: a
   * client's regenerate or one-token request rarely carries one, and a seeded exact repeat costs
   * lavash a second re-evaluated prompt token (docs/reference.md, "Seeds").
   */
  seededShort: boolean;
  /** Prefix scenario: user turns per series (with and without the shared system prompt cached). */
  turns: number;
  /** Prefix scenario: tokens of the shared system prompt (exact with Qwen's vocabulary, see prompts.ts). */
  systemTokens: number;
  /** Fairness scenario: tokens of the long prompt sent while the streams generate. */
  longPromptTokens: number;
  /** First request seed; request i of a run uses seed + i, so runs generate the same tokens. */
  seed: number;
  quick: boolean;
  /** `--peer-bin`: the peer's binary; null: the cached build of bench/build-llama-server.sh. */
  peerBin: string | null;
  /** `--peer-arg`: more flags for the started peer, after bench's own (so they can override them). */
  peerArgs: string[];
  /**
   * The "one at a time, then N at once" workload (throughput scenario): N chats one after another
   * behind one system prompt, then N more at once; 0: not run.
   */
  burst: number;
  /** Rounds of it per server, interleaved between the servers. */
  burstRounds: number;
}

export const DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog. Once upon a time,";

export const DEFAULTS = {
  model: "builtin:qwen2.5-0.5b-shape",
  tokens: 64,
  concurrency: [1, 2, 4, 8],
  /** Levels when two servers are compared. */
  compareConcurrency: [1, 2, 4, 8, 16],
  repeat: 3,
  parallel: 8,
  /** Per scenario: the prefix scenario's ~1,000-token system prompt, the fairness one's ~2,000-token prompt. */
  ctxSize: { throughput: 1024, prefix: 2048, fairness: 4096 } as Readonly<Record<Scenario, number>>,
  /**
   * max_tokens=1 requests when comparing (0 otherwise unless --short-requests is given). A round of
   * 64 took 0.2-0.35 s on tiny and its rate was bimodal (188, 335, 190 req/s in one run): 256
   * spreads a round over a second or more.
   */
  shortRequests: 256,
  shortConcurrency: 4,
  /** Streamed max_tokens=1 requests sent one at a time, per round, for TTFT at 1 stream (when comparing). */
  ttftRequests: 24,
  turns: 20,
  systemTokens: 1000,
  longPromptTokens: 2000,
  seed: 1234,
  /** Streams of the burst workload when two servers are compared (else 0 unless --burst is given). */
  burst: 8,
  burstRounds: 2,
} as const;

/**
 * The burst workload's request shape: a system prompt of this many tokens shared by every chat of
 * a round (each round its own), a short user turn, and 64 tokens generated (the issue's setup).
 */
export const BURST = { systemTokens: 256, maxTokens: 64 } as const;

/** Fairness scenario: streams generating while the long prompt arrives. */
export const FAIRNESS_STREAMS = 4;

/** --quick: what changes unless given explicitly. A smoke test, not a measurement. */
export const QUICK = {
  model: "builtin:tiny",
  tokens: 16,
  repeat: 1,
  concurrency: [1, 4],
  shortRequests: 16,
  ttftRequests: 4,
  burstRounds: 1,
} as const;

export function benchHelp(): string {
  return `Usage: lavash bench [options]

Measures a streaming OpenAI-compatible server through its HTTP API: time to first token,
single-stream and aggregate decode speed at several concurrency levels, inter-token latency,
and (lavash) sequences per decode; compares with llama-server reference figures. By default it
starts 'lavash serve' itself and also measures lavash's per-token overhead over the bare engine.

Scenarios (--scenario NAME):
  throughput           (default) the levels above; with two servers, side by side with ratios
  prefix               ${DEFAULTS.turns} chat turns one after another behind a shared ~${DEFAULTS.systemTokens}-token system prompt:
                       TTFT with the prompt cached vs with a unique first token per request
  fairness             ${FAIRNESS_STREAMS} streams generate; a ~${DEFAULTS.longPromptTokens}-token prompt arrives: the streams'
                       inter-token latency p95 during its prefill vs just before
  gateway              lavash replicas behind lavash's gateway, per routing policy, on a multi-tenant
                       chat workload: hit rate, TTFT, tok/s, gateway overhead (own flags: see
                       lavash bench --scenario gateway --help)
  its                  inference-time scaling in-process: power sampling with KV reuse vs PITA's
                       re-evaluation, tokens evaluated and wall time (own flags: --prompt-tokens,
                       --max-tokens, --block, --steps, --alpha, --rounds, --threads, --model, --out)

Servers (default: bench starts lavash serve on --model):
  --model SRC          model for the started server (default: ${DEFAULTS.model})
  --target URL         benchmark this running server instead; given twice (A, B): both, ratios B/A
  --compare URL        a peer to compare with: bench starts lavash too and reports lavash/peer
  --peer llama-server  start llama.cpp's server as the peer, on the same GGUF with the same threads,
                       context per sequence, batch size and sampling (build it first, once:
                       bash bench/build-llama-server.sh); ratios lavash/llama-server, rounds
                       interleaved, an SVG chart beside the JSON
  --peer-bin FILE      the llama-server binary (default: the build script's cached one)
  --peer-arg=ARG       one more flag for the started peer (repeatable; '=' because the value starts
                       with a dash: --peer-arg=--cache-ram --peer-arg=0)
  --target-pid N       the --target's server process (repeatable, in --target order): peak RSS
  --compare-pid N      the --compare server's process: peak RSS
  --model-id ID        model id to request from --target/--compare servers (alias --model-name;
                       default: each server's first of GET /v1/models)
  --api-key KEY        send Authorization: Bearer KEY (default: $LAVASH_API_KEY, if set)

Options:
  --tokens N           tokens per stream (default: ${DEFAULTS.tokens})
  --concurrency LIST   comma-separated stream counts (default: ${DEFAULTS.concurrency.join(",")}; comparing: ${DEFAULTS.compareConcurrency.join(",")})
  --repeat N           rounds per concurrency level; medians are reported (default: ${DEFAULTS.repeat})
  --short-requests N   max_tokens=1 requests for a requests/s figure, 0 for none
                       (default: ${DEFAULTS.shortRequests} when comparing, else 0)
  --short-concurrency N  of those, how many at a time (default: ${DEFAULTS.shortConcurrency})
  --ttft-requests N    streamed max_tokens=1 requests one at a time in each round, for TTFT at 1 stream
                       from many samples (default: ${DEFAULTS.ttftRequests} when comparing, else 0: the 1-stream level's)
  --seeded-short       give those max_tokens=1 requests seeds too (default: none, as most clients send; lavash
                       then evaluates two cached prompt tokens again instead of one, for the seed guarantee)
  --burst N            N streamed chats one at a time behind one ~${BURST.systemTokens}-token system prompt, then N
                       at once (${BURST.maxTokens} tokens each): TTFT p50/p95 and aggregate tok/s of the second
                       phase; 0 for none (default: ${DEFAULTS.burst} when comparing, else 0)
  --burst-rounds N     rounds of it per server (default: ${DEFAULTS.burstRounds}, --quick ${QUICK.burstRounds})
  --turns N            prefix scenario: user turns per series (default: ${DEFAULTS.turns})
  --system-tokens N    prefix scenario: tokens of the system prompt (default: ${DEFAULTS.systemTokens})
  --long-prompt-tokens N  fairness scenario: tokens of the long prompt (default: ${DEFAULTS.longPromptTokens})
  --out FILE           results JSON (default: bench-results/bench-<timestamp>.json)
  --threads N          llama.cpp threads for the started server (default: physical cores)
  --parallel N         sequences of the started server (default: ${DEFAULTS.parallel}, or the largest level)
  --ctx-size N         context per sequence of the started server
                       (default: ${Object.entries(DEFAULTS.ctxSize)
                         .map(([k, v]) => `${v} ${k}`)
                         .join(", ")})
  --prefill-chunk N    the started server's --prefill-chunk (default: the server's)
  --no-overhead        skip the bare-engine vs lavash per-token comparison on the tiny model
  --prompt TEXT        prompt of every request (default: a fixed short sentence)
  --unique-prompts     start each prompt with the request's seed, so no cached prompt is reused
                       (by default lavash reuses a free sequence's cached prompt: TTFT is then ~1 decode)
  --seed N             seed of the first request; the others count up from it (default: ${DEFAULTS.seed})
  --quick              smoke mode: ${QUICK.model}, ${QUICK.tokens} tokens, ${QUICK.repeat} round, levels ${QUICK.concurrency.join(",")}, ${QUICK.shortRequests} short requests when comparing
  --help               show this help`;
}

function positiveInt(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

export function parseConcurrencyList(raw: string): number[] {
  const parts = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error(`--concurrency needs a comma-separated list of stream counts, got '${raw}'`);
  const levels = parts.map((p) => positiveInt("concurrency", p, 1, 256));
  return [...new Set(levels)];
}

/** Accepts `http://host:port`, with or without a trailing `/v1` or slash. */
export function normalizeTarget(raw: string, flag = "target"): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--${flag} must be a URL such as http://127.0.0.1:8080, got '${raw}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`--${flag} must be an http(s) URL, got '${raw}'`);
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.protocol}//${url.host}${path}`;
}

/** Baseline first: `--compare` is the baseline of the lavash bench starts (or of a single --target). */
function serverSpecs(
  targets: string[],
  targetPids: number[],
  compare: string | null,
  comparePid: number | null,
): ServerSpec[] {
  if (targetPids.length > targets.length)
    throw new Error("--target-pid needs a --target for each (the n-th pid goes with the n-th --target)");
  if (comparePid !== null && compare === null) throw new Error("--compare-pid goes with --compare");
  const given = targets.map((url, i) => ({ url, pid: targetPids[i] ?? null }));
  const candidates: ServerSpec[] = given.length > 0 ? given : [{ url: null, pid: null }];
  const servers = compare === null ? candidates : [{ url: compare, pid: comparePid }, ...candidates];
  if (servers.length > 2)
    throw new Error("at most two servers: --target A --target B, or --compare PEER (with lavash or one --target)");
  return servers;
}

export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: "boolean" },
      quick: { type: "boolean" },
      "no-overhead": { type: "boolean" },
      "unique-prompts": { type: "boolean" },
      "seeded-short": { type: "boolean" },
      scenario: { type: "string" },
      model: { type: "string" },
      target: { type: "string", multiple: true },
      "target-pid": { type: "string", multiple: true },
      compare: { type: "string" },
      "compare-pid": { type: "string" },
      peer: { type: "string" },
      "peer-bin": { type: "string" },
      "peer-arg": { type: "string", multiple: true },
      burst: { type: "string" },
      "burst-rounds": { type: "string" },
      "model-name": { type: "string" },
      "model-id": { type: "string" },
      "api-key": { type: "string" },
      tokens: { type: "string" },
      concurrency: { type: "string" },
      repeat: { type: "string" },
      "short-requests": { type: "string" },
      "short-concurrency": { type: "string" },
      "ttft-requests": { type: "string" },
      turns: { type: "string" },
      "system-tokens": { type: "string" },
      "long-prompt-tokens": { type: "string" },
      out: { type: "string" },
      threads: { type: "string" },
      parallel: { type: "string" },
      "ctx-size": { type: "string" },
      "prefill-chunk": { type: "string" },
      prompt: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const int = (name: keyof typeof values, min: number, max: number): number | null => {
    const raw = values[name];
    return typeof raw === "string" ? positiveInt(name, raw, min, max) : null;
  };
  const scenario = (values.scenario ?? "throughput") as Scenario;
  if (!SCENARIOS.includes(scenario))
    throw new Error(`--scenario must be one of ${SCENARIOS.join(", ")}, got '${values.scenario}'`);
  const peer = parsePeer(values.peer);
  if (peer === null && (values["peer-bin"] !== undefined || values["peer-arg"] !== undefined))
    throw new Error("--peer-bin and --peer-arg go with --peer llama-server");
  if (peer !== null && (values.compare !== undefined || values.target !== undefined))
    throw new Error("--peer starts the peer and lavash itself: leave out --compare and --target");
  const servers: ServerSpec[] =
    peer !== null
      ? [
          { url: null, pid: null, start: peer },
          { url: null, pid: null },
        ]
      : serverSpecs(
          (values.target ?? []).map((t) => normalizeTarget(t)),
          (values["target-pid"] ?? []).map((p) => positiveInt("target-pid", p, 1, 2 ** 31 - 1)),
          values.compare === undefined ? null : normalizeTarget(values.compare, "compare"),
          int("compare-pid", 1, 2 ** 31 - 1),
        );
  const startsLavash = servers.some((s) => s.url === null);
  const comparing = servers.length === 2;
  if (!startsLavash && values.model !== undefined)
    throw new Error("--model chooses the model of the server bench starts; with --target use --model-id");
  if (
    values["model-name"] !== undefined &&
    values["model-id"] !== undefined &&
    values["model-name"] !== values["model-id"]
  )
    throw new Error("--model-id and --model-name are the same option; give one");
  const concurrency =
    values.concurrency !== undefined
      ? parseConcurrencyList(values.concurrency)
      : [...(quick ? QUICK.concurrency : comparing ? DEFAULTS.compareConcurrency : DEFAULTS.concurrency)];
  const parallel =
    int("parallel", 1, 256) ??
    Math.max(DEFAULTS.parallel, ...(scenario === "throughput" ? concurrency : [FAIRNESS_STREAMS + 1]));
  const ctxSize = int("ctx-size", 16, 1 << 20) ?? DEFAULTS.ctxSize[scenario];
  const tokens = int("tokens", 2, 100_000) ?? (quick ? QUICK.tokens : DEFAULTS.tokens);
  const systemTokens = int("system-tokens", 1, 100_000) ?? DEFAULTS.systemTokens;
  const longPromptTokens = int("long-prompt-tokens", 1, 100_000) ?? DEFAULTS.longPromptTokens;
  const burst = int("burst", 0, 64) ?? (comparing && scenario === "throughput" ? DEFAULTS.burst : 0);
  if (burst > 0 && scenario !== "throughput") throw new Error("--burst is part of the throughput scenario");
  if (startsLavash) {
    // What the scenario's longest prompt plus its output needs (the chat template and nonce add a few tokens).
    const throughputNeeds = Math.max(tokens + 1, burst > 0 ? BURST.systemTokens + BURST.maxTokens + 64 : 0);
    const needs = { throughput: throughputNeeds, prefix: systemTokens + 100, fairness: longPromptTokens + 64 }[
      scenario
    ];
    if (needs > ctxSize)
      throw new Error(`the ${scenario} scenario needs a --ctx-size of at least ${needs}, got ${ctxSize}`);
  }
  const prompt = values.prompt ?? DEFAULT_PROMPT;
  if (prompt.length === 0) throw new Error("--prompt must not be empty");
  const shortRequests =
    int("short-requests", 0, 10_000) ?? (comparing ? (quick ? QUICK.shortRequests : DEFAULTS.shortRequests) : 0);
  const ttftRequests =
    int("ttft-requests", 0, 10_000) ?? (comparing ? (quick ? QUICK.ttftRequests : DEFAULTS.ttftRequests) : 0);
  return {
    scenario,
    servers,
    model: values.model ?? (quick ? QUICK.model : DEFAULTS.model),
    modelName: values["model-id"] ?? values["model-name"] ?? null,
    apiKey: values["api-key"] ?? (process.env.LAVASH_API_KEY?.trim() || null),
    tokens,
    concurrency,
    repeat: int("repeat", 1, 100) ?? (quick ? QUICK.repeat : DEFAULTS.repeat),
    out: values.out ?? null,
    threads: int("threads", 1, 1024),
    parallel,
    ctxSize,
    prefillChunk: int("prefill-chunk", 1, 1 << 20),
    // Only for a single lavash that bench starts: the comparison needs a lavash server on the tiny model.
    overhead: values["no-overhead"] !== true && scenario === "throughput" && startsLavash && !comparing,
    prompt,
    uniquePrompts: values["unique-prompts"] === true,
    shortRequests,
    shortConcurrency: int("short-concurrency", 1, 256) ?? DEFAULTS.shortConcurrency,
    seededShort: values["seeded-short"] === true,
    ttftRequests,
    turns: int("turns", 1, 1000) ?? DEFAULTS.turns,
    systemTokens,
    longPromptTokens,
    seed: int("seed", 0, 2 ** 31 - 1) ?? DEFAULTS.seed,
    quick,
    peerBin: values["peer-bin"] ?? null,
    peerArgs: values["peer-arg"] ?? [],
    burst,
    burstRounds: int("burst-rounds", 1, 20) ?? (quick ? QUICK.burstRounds : DEFAULTS.burstRounds),
  };
}

function parsePeer(raw: string | undefined): Peer | null {
  if (raw === undefined) return null;
  if (!(PEERS as readonly string[]).includes(raw))
    throw new Error(
      `--peer must be one of ${PEERS.join(", ")}, got '${raw}' (any other server: start it yourself and pass --compare URL)`,
    );
  return raw as Peer;
}

/** `bench-<timestamp>.json` with a timestamp that sorts and is valid in file names everywhere. */
export function defaultOutPath(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/:/g, "-");
  return `bench-results/bench-${stamp}.json`;
}
