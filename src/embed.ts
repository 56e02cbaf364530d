// `import { startLavash } from "lavash"`: the server that `lavash serve` runs, started inside the
// caller's process (tests, desktop apps, scripts). Settings are the command line's, with its
// defaults and checks: an option here is a serve flag.
import { parseServeArgs } from "./cli/serve.js";
import { bindThenLoad } from "./cli/serve-run.js";
import { pino } from "pino";
import { drainAndClose } from "./server/shutdown.js";

export interface StartLavashOptions {
  /** Models to serve, as `--model` takes them: `[ID=]SRC`, SRC a .gguf path, `hf:owner/repo[:quant]` or `builtin:<preset>`. Default: `builtin:tiny`. */
  models?: readonly string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, read back from `port` of the result. */
  port?: number;
  /** Context size per sequence, in tokens (`--ctx-size`). */
  contextSize?: number;
  /** Sequences decoded together (`--parallel`). */
  parallel?: number;
  /** CPU threads for llama.cpp (`--threads`). */
  threads?: number;
  /** Keys clients must send as `Authorization: Bearer KEY` (`--api-key`); none: open. */
  apiKeys?: readonly string[];
  /** pino level of the JSON log lines written to stderr; default `warn`. */
  logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Any other `lavash serve` flags, as on the command line (`["--max-queue", "8"]`). */
  flags?: readonly string[];
}

export interface LavashServer {
  /** http://HOST:PORT, for /health, /metrics and /tokenize. */
  readonly url: string;
  /** `${url}/v1`: what an OpenAI client takes as baseURL. */
  readonly baseURL: string;
  readonly port: number;
  /** Stops accepting requests, lets running ones finish (up to `timeoutSeconds`, default 30), frees the models. */
  close(timeoutSeconds?: number): Promise<void>;
}

/** Starts a server and resolves once every model is loaded; a model that cannot load rejects (nothing is left running). */
export async function startLavash(options: StartLavashOptions = {}): Promise<LavashServer> {
  const config = parseServeArgs(toFlags(options));
  if (config === "help") throw new Error("startLavash: `--help` is not a server setting");
  // JSON lines on stderr: stdout belongs to the embedding program.
  const logger = pino({ level: config.logLevel }, pino.destination(2));
  const { host, port, shutdownTimeoutSeconds } = config;
  const { server: app, engine } = await bindThenLoad(config, logger);
  try {
    await engine.ready;
  } catch (error) {
    await app.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
  return {
    url,
    baseURL: `${url}/v1`,
    port: bound,
    close: (timeoutSeconds = shutdownTimeoutSeconds) => drainAndClose(app, engine, timeoutSeconds * 1000),
  };
}

function toFlags(options: StartLavashOptions): string[] {
  const flags: string[] = [
    "--host",
    options.host ?? "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--log-level",
    options.logLevel ?? "warn",
  ];
  for (const model of options.models ?? []) flags.push("--model", model);
  if (options.contextSize !== undefined) flags.push("--ctx-size", String(options.contextSize));
  if (options.parallel !== undefined) flags.push("--parallel", String(options.parallel));
  if (options.threads !== undefined) flags.push("--threads", String(options.threads));
  for (const key of options.apiKeys ?? []) flags.push("--api-key", key);
  return [...flags, ...(options.flags ?? [])];
}
