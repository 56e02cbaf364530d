// `lavash serve`: the server's flags (with llama-server's spellings as aliases) and its --help.
// Running it (serve-run.ts) is imported only then: --help loads neither fastify nor node-llama-cpp.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import type { LlamaEngineOptions } from "../engine/llama/llama-engine.js";
import { parseModelSpec } from "../engine/llama/model-spec.js";
import type { AppOptions } from "../server/app.js";
import { DEFAULT_BODY_LIMIT, parseByteSize } from "../server/body-limit.js";
import { DEFAULT_ITS_MAX_TOKENS } from "../endpoints/shared/its/plan.js";
import { defaultCacheDir } from "../models/builtin.js";
import {
  DEFAULT_RESPONSE_STORE_BOUNDS,
  defaultResponseDbPath,
  type ResponseStoreBounds,
} from "../storage/response-store.js";
import { readConfigFile } from "./config-file.js";
import type { UpstreamModel } from "../gateway/config.js";
import { commandHelp, expandAliases, type FlagDoc } from "./flags.js";

// Aliases follow llama-server (-m, -c, -np, -t, -ngl, --n-gpu-layers); a model path as an
// argument follows `vllm serve MODEL` and `ollama run MODEL`.
const flagDocs: FlagDoc[] = [
  { name: "host", value: "ADDR", help: "address to listen on", default: "127.0.0.1" },
  { name: "port", value: "N", help: "port to listen on", default: "8080" },
  {
    name: "model",
    value: "[ID=]SRC",
    help: "model to serve (repeatable; or give it as an argument): a .gguf path, hf:owner/repo[:quant] (needs internet), or builtin:<preset>",
    default: "builtin:tiny",
    repeatable: true,
    aliases: ["-m"],
  },
  {
    name: "ctx-size",
    value: "N",
    help: "context size per sequence, in tokens (llama-server's -c is split among its slots; this is not)",
    default: "4096",
    aliases: ["-c"],
  },
  {
    name: "parallel",
    value: "N",
    help: "sequences decoded together (concurrent requests per model)",
    default: "4",
    aliases: ["-np"],
  },
  {
    name: "threads",
    value: "N",
    help: "CPU threads for llama.cpp (1 for a small model's decodes of up to 16 tokens while that measures faster)",
    default: "physical cores",
    aliases: ["-t"],
  },
  { name: "batch-size", value: "N", help: "most tokens in one decode", default: "512" },
  {
    name: "prefill-chunk",
    value: "N|auto",
    help: "prompt tokens one decode may carry while others are generating; auto: paced to keep their steps within 2.5x, at most 128",
    default: "auto",
  },
  { name: "max-queue", value: "N", help: "requests that may wait for a free sequence before 429", default: "64" },
  { name: "gpu", value: "auto|cuda|vulkan|metal|off", help: "GPU backend", default: "auto" },
  {
    name: "gpu-layers",
    value: "N|auto",
    help: "layers of each model offloaded to the GPU (99: all of them); a model's own gpu-layers in --config wins",
    default: "auto: what fits; 0 with --gpu off",
    aliases: ["-ngl", "--n-gpu-layers"],
  },
  {
    name: "cache-dir",
    value: "DIR",
    help: "where built-in models are generated",
    default: "$LAVASH_CACHE_DIR or ~/.cache/lavash/models",
  },
  { name: "log-level", value: "LEVEL", help: "fatal|error|warn|info|debug|trace", default: "info" },
  {
    name: "api-key",
    value: "KEY",
    help: "require `Authorization: Bearer KEY` (repeatable; also $LAVASH_API_KEY)",
    default: "none: open",
    repeatable: true,
  },
  { name: "api-key-file", value: "PATH", help: "more keys, one a line (# comments)", default: "none" },
  {
    name: "rate-limit-rpm",
    value: "N",
    help: "requests per minute per API key, on the model routes (429 beyond); --config keys may set their own",
    default: "0: no limit",
  },
  {
    name: "rate-limit-tpm",
    value: "N",
    help: "prompt + completion tokens per minute per API key (429 beyond); --config keys may set their own",
    default: "0: no limit",
  },
  { name: "protect-health", value: "", help: "GET /health needs a key too", default: "open" },
  { name: "protect-metrics", value: "", help: "GET /metrics needs a key too", default: "open" },
  {
    name: "cors-origin",
    value: "ORIGIN",
    help: "origin browsers may call from (repeatable; * for any)",
    default: "none: no CORS headers",
    repeatable: true,
  },
  { name: "no-metrics", value: "", help: "no GET /metrics (Prometheus)", default: "metrics on" },
  {
    name: "request-timeout",
    value: "SECONDS",
    help: "stop a generation running longer (504); 0: no limit",
    default: "600",
  },
  {
    name: "max-body-size",
    value: "SIZE",
    help: "largest request body (413 beyond): bytes, or with a unit: 512kb, 10mb",
    default: "8mb",
  },
  {
    name: "its-max-tokens",
    value: "N",
    help: "most tokens one `its` (inference-time scaling) request may make the model evaluate",
    default: "200000",
  },
  {
    name: "responses-db",
    value: "PATH",
    help: "SQLite file that keeps stored Responses API responses (store: true)",
    default: "<cache-dir>/responses.sqlite",
  },
  {
    name: "no-store",
    value: "",
    help: "keep no responses: store is ignored, previous_response_id and GET /v1/responses/{id} find none",
    default: "stored",
  },
  {
    name: "responses-max-age",
    value: "DAYS",
    help: "drop stored responses older than this (0: no age limit)",
    default: "30",
  },
  {
    name: "responses-max-count",
    value: "N",
    help: "keep at most this many stored responses, the oldest go first (0: no limit)",
    default: "100000",
  },
  {
    name: "config",
    value: "FILE",
    help: "settings and models from a YAML or JSON file (see docs/serving.md); flags win",
    default: "none",
  },
  {
    name: "keep-alive",
    value: "SECONDS",
    help: "unload a model idle this long (reloaded on its next request); 0: keep loaded",
    default: "0",
  },
  {
    name: "admin-key",
    value: "KEY",
    help: "key for POST /models/load and /models/unload (repeatable); none: those are off",
    default: "none",
    repeatable: true,
  },
  {
    name: "shutdown-timeout",
    value: "SECONDS",
    help: "on SIGTERM/SIGINT, how long running requests may finish",
    default: "30",
  },
];

export function serveHelp(): string {
  return commandHelp(
    "lavash serve [options] [MODEL.gguf ...]",
    "Serves the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models) over GGUF models.",
    flagDocs,
  );
}

/** The engine's options that flags set, plus the server's own. */
export interface ServeConfig extends Omit<LlamaEngineOptions, "logger" | "onProgress"> {
  host: string;
  port: number;
  logLevel: string;
  http: Required<
    Pick<AppOptions, "auth" | "corsOrigins" | "metrics" | "requestTimeoutSeconds" | "itsMaxTokens" | "bodyLimit">
  >;
  shutdownTimeoutSeconds: number;
  /** Models served by upstream replicas (--config entries with `replicas`; src/gateway/). */
  upstreams: UpstreamModel[];
  /** Where stored responses go, and their bounds; null: --no-store. */
  responses: { path: string; bounds: ResponseStoreBounds } | null;
}

export function parseServeArgs(args: string[]): ServeConfig | "help" {
  const { values, positionals } = parseArgs({
    args: expandAliases(args, flagDocs),
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(
        flagDocs.map((f) => [
          f.name,
          f.value === "" ? { type: "boolean" as const } : { type: "string" as const, multiple: f.repeatable === true },
        ]),
      ),
    },
  });
  if (values.help) return "help";
  const given = values as Record<string, unknown>;
  const file =
    typeof given.config === "string" ? readConfigFile(given.config, new Set(flagDocs.map((f) => f.name))) : null;
  // The command line wins; the file fills in what it did not give.
  const setting = (name: string): unknown => given[name] ?? file?.flags.get(name);
  const str = (name: string): string | undefined => setting(name) as string | undefined;
  const int = (name: string, fallback: number, min: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
    return n;
  };
  const seconds = (name: string, fallback: number): number => {
    const raw = str(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (raw?.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new Error(`--${name} must be a number of seconds >= 0, got '${raw}'`);
    return n;
  };
  const days = (name: string, fallback: number): number => {
    const raw = str(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (raw?.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new Error(`--${name} must be a number of days >= 0, got '${raw}'`);
    return n;
  };
  const byteSize = (name: string, fallback: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const bytes = parseByteSize(String(raw));
    if (bytes === null)
      throw new Error(`--${name} must be a size in bytes, or with a unit (512kb, 10mb), got '${raw}'`);
    return bytes;
  };
  const list = (name: string): string[] => {
    const v = setting(name);
    return v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [String(v)];
  };
  const flag = (name: string): boolean => setting(name) === true;
  const gpu = str("gpu") ?? "auto";
  if (!["auto", "cuda", "vulkan", "metal", "off"].includes(gpu))
    throw new Error(`--gpu must be auto, cuda, vulkan, metal or off, got '${gpu}'`);
  const gpuLayers = str("gpu-layers") === "auto" ? "auto" : int("gpu-layers", -1, 0);
  const listed = [...(file?.models ?? []), ...positionals.map(parseModelSpec), ...list("model").map(parseModelSpec)];
  const upstreams = file?.upstreams ?? [];
  const models = listed.length > 0 || upstreams.length > 0 ? listed : [parseModelSpec("builtin:tiny")];
  const ids = new Set<string>();
  for (const m of models) {
    if (ids.has(m.id)) throw new Error(`two models are named '${m.id}': give one an alias, --model other=${m.source}`);
    ids.add(m.id);
  }
  for (const u of upstreams) {
    if (ids.has(u.id))
      throw new Error(`two models are named '${u.id}' (one an upstream group of --config): rename one`);
    ids.add(u.id);
  }
  const keyCount = list("api-key").length + (process.env.LAVASH_API_KEY?.trim() ? 1 : 0) + (file?.keys.length ?? 0);
  for (const name of ["rate-limit-rpm", "rate-limit-tpm"])
    if (int(name, 0, 0) > 0 && keyCount === 0 && str("api-key-file") === undefined)
      throw new Error(`--${name} limits each API key: give keys (--api-key, or keys in --config)`);
  return {
    host: str("host") ?? "127.0.0.1",
    port: int("port", 8080, 0),
    models,
    upstreams,
    contextSize: int("ctx-size", 4096, 16),
    parallel: int("parallel", 4, 1),
    threads: int("threads", physicalCores(), 1),
    batchSize: int("batch-size", 512, 16),
    prefillChunk: (str("prefill-chunk") ?? "auto") === "auto" ? "auto" : int("prefill-chunk", 128, 1),
    maxQueue: int("max-queue", 64, 0),
    gpu: gpu === "off" ? false : (gpu as ServeConfig["gpu"]),
    cacheDir: str("cache-dir"),
    keepAlive: seconds("keep-alive", 0),
    ...(gpuLayers === -1 ? {} : { gpuLayers }),
    logLevel: str("log-level") ?? "info",
    http: {
      auth: {
        keys: apiKeys(list("api-key"), str("api-key-file")),
        clients: file?.keys ?? [],
        defaultLimits: { rpm: int("rate-limit-rpm", 0, 0), tpm: int("rate-limit-tpm", 0, 0) },
        adminKeys: list("admin-key"),
        protectHealth: flag("protect-health"),
        protectMetrics: flag("protect-metrics"),
      },
      corsOrigins: list("cors-origin"),
      metrics: !flag("no-metrics"),
      requestTimeoutSeconds: seconds("request-timeout", 600),
      itsMaxTokens: int("its-max-tokens", DEFAULT_ITS_MAX_TOKENS, 1),
      bodyLimit: byteSize("max-body-size", DEFAULT_BODY_LIMIT),
    },
    shutdownTimeoutSeconds: seconds("shutdown-timeout", 30),
    responses: flag("no-store")
      ? null
      : {
          path: str("responses-db") ?? defaultResponseDbPath(str("cache-dir") ?? defaultCacheDir()),
          bounds: {
            maxAgeSeconds: days("responses-max-age", DEFAULT_RESPONSE_STORE_BOUNDS.maxAgeSeconds / 86_400) * 86_400,
            maxEntries: int("responses-max-count", DEFAULT_RESPONSE_STORE_BOUNDS.maxEntries, 0),
          },
        },
  };
}

/** Keys from the flags, $LAVASH_API_KEY and the key file (one a line; blank lines and # comments skipped). */
function apiKeys(flags: string[], file: string | undefined): string[] {
  const env = process.env.LAVASH_API_KEY?.trim();
  const keys = [...flags.map((k) => k.trim()), ...(env ? [env] : [])];
  if (file !== undefined) {
    const fromFile = readFileSync(file, "utf8")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    // An empty file would silently leave the server open.
    if (fromFile.length === 0) throw new Error(`--api-key-file ${file} holds no keys`);
    keys.push(...fromFile);
  }
  for (const key of keys)
    if (key === "" || /\s/.test(key))
      throw new Error("an API key must be non-empty and hold no spaces (it is sent as `Authorization: Bearer KEY`)");
  return keys;
}

/** Hyper-threads share a core's arithmetic units; llama.cpp is fastest with one thread per core. */
export function physicalCores(): number {
  try {
    const cores = new Set<string>();
    let physical = "";
    for (const line of readFileSync("/proc/cpuinfo", "utf8").split("\n")) {
      const [key, value] = line.split(":").map((s) => s.trim());
      if (key === "physical id") physical = value ?? "";
      if (key === "core id") cores.add(`${physical}:${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux: fall through
  }
  return Math.max(1, Math.ceil(availableParallelism() / 2));
}

export async function serveCommand(args: string[]): Promise<number> {
  const config = parseServeArgs(args);
  if (config === "help") {
    console.log(serveHelp());
    return 0;
  }
  const { runServer } = await import("./serve-run.js");
  return runServer(config);
}
