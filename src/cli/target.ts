// The server a client command (chat, complete) talks to: one at --url, or one started in this
// process on 127.0.0.1 over `--model SRC`, with the model's load progress on stderr.
// The engine and the server are imported only for --model: `chat --help` and `chat --url` load
// neither node-llama-cpp nor fastify.
import { APIConnectionError, APIError, Lavash } from "../client/index.js";
import { parseModelSpec } from "../engine/llama/model-spec.js";
import { type FlagDoc, numberFlag, type ParsedFlags, stringFlag } from "./flags.js";
import { progressReporter, terminalLine } from "./progress.js";
import { physicalCores } from "./serve.js";

export const DEFAULT_URL = "http://127.0.0.1:8080/v1";

/** The flags that pick the server and the model, shared by chat and complete. */
export const targetFlags: FlagDoc[] = [
  { name: "url", value: "URL", help: "a running server's API base", default: `$LAVASH_BASE_URL or ${DEFAULT_URL}` },
  {
    name: "model",
    value: "SRC|ID",
    help: "without --url: load this model in-process (a .gguf path, hf:owner/repo[:quant] or builtin:<preset>) and serve it on 127.0.0.1; with --url: the served model's id",
    default: "the server's first model",
  },
  { name: "api-key", value: "KEY", help: "sent as `Authorization: Bearer KEY`", default: "$LAVASH_API_KEY or none" },
  { name: "ctx-size", value: "N", help: "in-process server only: context size in tokens", default: "4096" },
  {
    name: "cache-dir",
    value: "DIR",
    help: "in-process server only: where built-in models are generated",
    default: "$LAVASH_CACHE_DIR or ~/.cache/lavash/models",
  },
];

/** Sampling flags shared by chat and complete; `maxTokens` is the command's own default. */
export function samplingFlags(maxTokens: string): FlagDoc[] {
  return [
    { name: "temperature", value: "T", help: "sampling temperature, 0 (greedy) to 2", default: "the server's, 1" },
    { name: "max-tokens", value: "N", help: "most tokens per answer", default: maxTokens },
    { name: "seed", value: "N", help: "sampling seed, for repeatable answers", default: "random" },
  ];
}

export interface Sampling {
  temperature: number | undefined;
  max_tokens: number | undefined;
  seed: number | undefined;
}

export function parseSampling(values: ParsedFlags["values"]): Sampling {
  return {
    temperature: numberFlag(values, "temperature", { min: 0, max: 2 }),
    max_tokens: numberFlag(values, "max-tokens", { min: 1, integer: true }),
    seed: numberFlag(values, "seed", { min: -(2 ** 63), integer: true }),
  };
}

export interface Target {
  client: Lavash;
  /** The model id requests name. */
  model: string;
  /** Where the server is, for messages. */
  url: string;
  /** Stops the in-process server; nothing for --url. */
  close(): Promise<void>;
}

export async function openTarget(values: ParsedFlags["values"]): Promise<Target> {
  const url = stringFlag(values, "url");
  const model = stringFlag(values, "model");
  const apiKey = stringFlag(values, "api-key");
  if (url === undefined && model !== undefined) return startInProcess(model, values);
  const baseURL = url ?? process.env.LAVASH_BASE_URL ?? DEFAULT_URL;
  const client = new Lavash({ baseURL, apiKey, maxRetries: 0 });
  const id = model ?? (await firstModel(client, baseURL));
  return { client, model: id, url: baseURL, close: async () => undefined };
}

async function firstModel(client: Lavash, url: string): Promise<string> {
  const list = await client.models.list().catch((error: unknown) => {
    throw explain(error, url);
  });
  const first = list.data[0];
  if (first === undefined) throw new Error(`the server at ${url} serves no models`);
  return first.id;
}

async function startInProcess(source: string, values: ParsedFlags["values"]): Promise<Target> {
  const [{ pino }, { LlamaEngine }, { startServer }, { drainAndClose }] = await Promise.all([
    import("pino"),
    import("../engine/llama/llama-engine.js"),
    import("../server/app.js"),
    import("../server/shutdown.js"),
  ]);
  const spec = parseModelSpec(source);
  const progress = progressReporter();
  // Above the load progress line, never into it.
  const warn = (m: string): void => terminalLine.writeAbove(process.stderr, `${m}\n`);
  // llama.cpp's own warnings (odd vocabulary entries and the like) are noise in a chat.
  const engineWarn = (m: string): void => {
    if (!m.startsWith("llama.cpp:")) warn(m);
  };
  const engine = new LlamaEngine({
    models: [spec],
    contextSize: numberFlag(values, "ctx-size", { min: 16, integer: true }) ?? 4096,
    parallel: 1,
    threads: physicalCores(),
    batchSize: 512,
    prefillChunk: 128,
    maxQueue: 4,
    gpu: "auto",
    cacheDir: stringFlag(values, "cache-dir"),
    logger: { info: () => undefined, warn: engineWarn, error: warn },
    onProgress: (model, p) => {
      if (p.stage !== "cached") progress(`${model}: ${p.stage}`, p.fraction);
    },
  });
  try {
    await engine.ready;
  } catch (error) {
    await engine.close();
    throw error;
  }
  const logger = pino({ level: "warn" }, pino.destination(2));
  const app = await startServer({ engine, logger, host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("the in-process server has no TCP address");
  const baseURL = `http://127.0.0.1:${address.port}/v1`;
  if (source.startsWith("builtin:"))
    warn(`'${spec.id}' is a built-in test model with RANDOM weights: its output is gibberish.`);
  return {
    client: new Lavash({ baseURL, apiKey: null, maxRetries: 0 }),
    model: spec.id,
    url: baseURL,
    close: () => drainAndClose(app, engine, 2000),
  };
}

/** A client error as one line for a person: what failed and what to do. */
export function explain(error: unknown, url: string): Error {
  if (error instanceof APIConnectionError)
    return new Error(`cannot reach ${url}: is a server running there? (lavash serve starts one) [${error.message}]`);
  if (error instanceof APIError)
    return new Error(error.status === undefined ? `the server stopped the answer: ${error.message}` : error.message);
  return error instanceof Error ? error : new Error(String(error));
}
