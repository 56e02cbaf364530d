// `lavash serve`: parses the server flags, starts the HTTP server at once (GET /health answers
// 503 while loading) and loads the models behind it.
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { LlamaEngine, type LlamaEngineOptions } from "../engine/llama/llama-engine.js";
import { parseModelSpec } from "../engine/llama/model-source.js";
import { createLogger } from "../server/logger.js";
import { startServer } from "../server/app.js";
import { progressReporter } from "./progress.js";

interface FlagDoc {
  name: string;
  value: string;
  help: string;
  default: string;
}

const flagDocs: FlagDoc[] = [
  { name: "host", value: "ADDR", help: "address to listen on", default: "127.0.0.1" },
  { name: "port", value: "N", help: "port to listen on", default: "8080" },
  { name: "model", value: "[ID=]SRC", help: "model to serve (repeatable): a .gguf path, hf:owner/repo[:quant] (needs internet), or builtin:<preset>", default: "builtin:tiny" },
  { name: "ctx-size", value: "N", help: "context size per sequence, in tokens", default: "4096" },
  { name: "parallel", value: "N", help: "sequences decoded together (concurrent requests per model)", default: "4" },
  { name: "threads", value: "N", help: "CPU threads for llama.cpp", default: "physical cores" },
  { name: "batch-size", value: "N", help: "most tokens in one decode", default: "512" },
  { name: "prefill-chunk", value: "N", help: "most prompt tokens a request adds to one decode while others are generating", default: "128" },
  { name: "max-queue", value: "N", help: "requests that may wait for a free sequence before 429", default: "64" },
  { name: "gpu", value: "auto|cuda|vulkan|metal|off", help: "GPU backend", default: "auto" },
  { name: "cache-dir", value: "DIR", help: "where built-in models are generated", default: "$LAVASH_CACHE_DIR or ~/.cache/lavash/models" },
  { name: "log-level", value: "LEVEL", help: "fatal|error|warn|info|debug|trace", default: "info" },
];

export function serveHelp(): string {
  const rows = flagDocs.map((f) => `  --${`${f.name} ${f.value}`.padEnd(34)} ${f.help} (default: ${f.default})`);
  return `Usage: lavash serve [options]\n\nServes the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models) over GGUF models.\n\n${rows.join("\n")}\n  --help                             show this help`;
}

/** The engine's options that flags set, plus the server's own. */
export interface ServeConfig extends Omit<LlamaEngineOptions, "logger" | "onProgress"> {
  host: string;
  port: number;
  logLevel: string;
}

export function parseServeArgs(args: string[]): ServeConfig | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      help: { type: "boolean" },
      model: { type: "string", multiple: true },
      ...Object.fromEntries(flagDocs.filter((f) => f.name !== "model").map((f) => [f.name, { type: "string" as const }])),
    },
  });
  if (values.help) return "help";
  const str = (name: string): string | undefined => (values as Record<string, unknown>)[name] as string | undefined;
  const int = (name: string, fallback: number, min: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${raw}'`);
    return n;
  };
  const gpu = str("gpu") ?? "auto";
  if (!["auto", "cuda", "vulkan", "metal", "off"].includes(gpu)) throw new Error(`--gpu must be auto, cuda, vulkan, metal or off, got '${gpu}'`);
  const models = ((values.model as string[] | undefined) ?? ["builtin:tiny"]).map(parseModelSpec);
  const ids = new Set<string>();
  for (const m of models) {
    if (ids.has(m.id)) throw new Error(`two models are named '${m.id}': give one an alias, --model other=${m.source}`);
    ids.add(m.id);
  }
  return {
    host: str("host") ?? "127.0.0.1",
    port: int("port", 8080, 0),
    models,
    contextSize: int("ctx-size", 4096, 16),
    parallel: int("parallel", 4, 1),
    threads: int("threads", physicalCores(), 1),
    batchSize: int("batch-size", 512, 16),
    prefillChunk: int("prefill-chunk", 128, 1),
    maxQueue: int("max-queue", 64, 0),
    gpu: gpu === "off" ? false : (gpu as ServeConfig["gpu"]),
    cacheDir: str("cache-dir"),
    logLevel: str("log-level") ?? "info",
  };
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
  const logger = createLogger(config.logLevel);
  for (const m of config.models) {
    if (m.source.startsWith("builtin:"))
      logger.warn(
        `Serving '${m.id}', a built-in test model with RANDOM weights: its output is gibberish. ` +
          "To serve a real model: lavash serve --model path/to/model.gguf, or --model hf:owner/repo:quant (downloads; needs internet).",
      );
  }
  const progress = progressReporter();
  const { host, port, logLevel: _logLevel, ...engineOptions } = config;
  const engine = new LlamaEngine({
    ...engineOptions,
    logger: {
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    onProgress: (model, p) => progress(`${model}: ${p.stage}`, p.fraction),
  });
  const server = await startServer({ engine, host, port, logger });
  engine.ready.catch(() => undefined);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info(`${signal}: shutting down`);
      server
        .close()
        .then(() => engine.close())
        .then(() => resolve(0), () => resolve(1));
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
