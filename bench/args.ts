// `lavash bench` options.
import { parseArgs } from "node:util";

export interface BenchOptions {
  /** `--model` source for the server bench starts (unused with --target). */
  model: string;
  /** Base URL of an already running server (no trailing slash, no /v1), or null to start lavash. */
  target: string | null;
  /** Model name to send; null: the server's first model from GET /v1/models. */
  modelName: string | null;
  tokens: number;
  concurrency: number[];
  repeat: number;
  /** Output JSON path; null: bench-results/bench-<timestamp>.json. */
  out: string | null;
  /** llama.cpp threads; null: physical cores. */
  threads: number | null;
  parallel: number;
  ctxSize: number;
  /** Run the per-token overhead comparison on the tiny model (bare engine vs lavash). */
  overhead: boolean;
  prompt: string;
  /**
   * Prefix each request's prompt with its seed so no server can reuse a cached prompt: TTFT then
   * includes evaluating the whole prompt. Off by default: the fixed prompt is what the reference used.
   */
  uniquePrompts: boolean;
  /** First request seed; request i of a run uses seed + i, so runs generate the same tokens. */
  seed: number;
  quick: boolean;
}

export const DEFAULT_PROMPT = "The quick brown fox jumps over the lazy dog. Once upon a time,";

export const DEFAULTS = {
  model: "builtin:qwen2.5-0.5b-shape",
  tokens: 64,
  concurrency: [1, 2, 4, 8],
  repeat: 3,
  parallel: 8,
  ctxSize: 1024,
  seed: 1234,
} as const;

/** --quick: what changes unless given explicitly. A smoke test, not a measurement. */
export const QUICK = { model: "builtin:tiny", tokens: 16, repeat: 1, concurrency: [1, 4] } as const;

export function benchHelp(): string {
  return `Usage: lavash bench [options]

Measures a streaming OpenAI-compatible server through its HTTP API: time to first token,
single-stream and aggregate decode speed at several concurrency levels, inter-token latency,
and (lavash) sequences per decode; compares with llama-server reference figures. By default it
starts 'lavash serve' itself and also measures lavash's per-token overhead over the bare engine.

  --model SRC          model for the started server (default: ${DEFAULTS.model})
  --target URL         benchmark this running server instead of starting one
  --model-name NAME    model name to request (default: the first of GET /v1/models)
  --tokens N           tokens per stream (default: ${DEFAULTS.tokens})
  --concurrency LIST   comma-separated stream counts (default: ${DEFAULTS.concurrency.join(",")})
  --repeat N           rounds per concurrency level; medians are reported (default: ${DEFAULTS.repeat})
  --out FILE           results JSON (default: bench-results/bench-<timestamp>.json)
  --threads N          llama.cpp threads for the started server (default: physical cores)
  --parallel N         sequences of the started server (default: ${DEFAULTS.parallel}, or the largest level)
  --ctx-size N         context per sequence of the started server (default: ${DEFAULTS.ctxSize})
  --no-overhead        skip the bare-engine vs lavash per-token comparison on the tiny model
  --prompt TEXT        prompt of every request (default: a fixed short sentence)
  --unique-prompts     start each prompt with the request's seed, so no cached prompt is reused
                       (by default lavash reuses a free sequence's cached prompt: TTFT is then ~1 decode)
  --seed N             seed of the first request; the others count up from it (default: ${DEFAULTS.seed})
  --quick              smoke mode: ${QUICK.model}, ${QUICK.tokens} tokens, ${QUICK.repeat} round, levels ${QUICK.concurrency.join(",")}
  --help               show this help`;
}

function positiveInt(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

export function parseConcurrencyList(raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error(`--concurrency needs a comma-separated list of stream counts, got '${raw}'`);
  const levels = parts.map((p) => positiveInt("concurrency", p, 1, 256));
  return [...new Set(levels)];
}

/** Accepts `http://host:port`, with or without a trailing `/v1` or slash. */
export function normalizeTarget(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--target must be a URL such as http://127.0.0.1:8080, got '${raw}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`--target must be an http(s) URL, got '${raw}'`);
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.protocol}//${url.host}${path}`;
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
      model: { type: "string" },
      target: { type: "string" },
      "model-name": { type: "string" },
      tokens: { type: "string" },
      concurrency: { type: "string" },
      repeat: { type: "string" },
      out: { type: "string" },
      threads: { type: "string" },
      parallel: { type: "string" },
      "ctx-size": { type: "string" },
      prompt: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const target = values.target === undefined ? null : normalizeTarget(values.target);
  if (target !== null && values.model !== undefined)
    throw new Error("--model chooses the model of the server bench starts; with --target use --model-name");
  const concurrency = values.concurrency !== undefined ? parseConcurrencyList(values.concurrency) : [...(quick ? QUICK.concurrency : DEFAULTS.concurrency)];
  const parallel = values.parallel !== undefined ? positiveInt("parallel", values.parallel, 1, 256) : Math.max(DEFAULTS.parallel, ...concurrency);
  const ctxSize = values["ctx-size"] !== undefined ? positiveInt("ctx-size", values["ctx-size"], 16, 1 << 20) : DEFAULTS.ctxSize;
  const tokens = values.tokens !== undefined ? positiveInt("tokens", values.tokens, 2, 100_000) : quick ? QUICK.tokens : DEFAULTS.tokens;
  if (target === null && tokens >= ctxSize) throw new Error(`--tokens ${tokens} does not fit --ctx-size ${ctxSize} with the prompt`);
  const prompt = values.prompt ?? DEFAULT_PROMPT;
  if (prompt.length === 0) throw new Error("--prompt must not be empty");
  return {
    model: values.model ?? (quick ? QUICK.model : DEFAULTS.model),
    target,
    modelName: values["model-name"] ?? null,
    tokens,
    concurrency,
    repeat: values.repeat !== undefined ? positiveInt("repeat", values.repeat, 1, 100) : quick ? QUICK.repeat : DEFAULTS.repeat,
    out: values.out ?? null,
    threads: values.threads !== undefined ? positiveInt("threads", values.threads, 1, 1024) : null,
    parallel,
    ctxSize,
    // The comparison needs a lavash server on the tiny model, which bench only has when it starts one.
    overhead: values["no-overhead"] !== true && target === null,
    prompt,
    uniquePrompts: values["unique-prompts"] === true,
    seed: values.seed !== undefined ? positiveInt("seed", values.seed, 0, 2 ** 31 - 1) : DEFAULTS.seed,
    quick,
  };
}

/** `bench-<timestamp>.json` with a timestamp that sorts and is valid in file names everywhere. */
export function defaultOutPath(now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  return `bench-results/bench-${stamp}.json`;
}
