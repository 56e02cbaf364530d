// Runs `lavash serve` as llama-server does: the port is bound first (in use: the process ends at
// once, before any load), then the models load while GET /health answers 503; a model that
// cannot load closes the server and ends the process with a non-zero code, its reason the last
// line on stderr (main.ts prints the thrown error).
import type { FastifyInstance } from "fastify";
import { LlamaEngine, type LlamaEngineOptions } from "../engine/llama/llama-engine.js";
import { startServer } from "../server/app.js";
import { openResponseStore } from "../storage/response-store.js";
import { Gateway } from "../gateway/gateway.js";
import { Arrivals } from "../server/arrivals.js";
import { createLogger, type Logger } from "../server/logger.js";
import { drainAndClose } from "../server/shutdown.js";
import { progressReporter, terminalLine } from "./progress.js";
import type { ServeConfig } from "./serve.js";

export async function runServer(config: ServeConfig): Promise<number> {
  const logger = createLogger(config.logLevel, {
    writeLines: (lines) => terminalLine.writeAbove(process.stdout, lines),
  });
  for (const m of config.models) {
    if (m.source.startsWith("builtin:"))
      logger.warn(
        `Serving '${m.id}', a built-in test model with RANDOM weights: its output is gibberish. ` +
          "To serve a real model: lavash serve path/to/model.gguf, or --model hf:owner/repo:quant (downloads; needs internet).",
      );
  }
  const progress = progressReporter();
  const { host, port, http, shutdownTimeoutSeconds } = config;
  // "cached": the file is already there; nothing to show.
  const { server, engine } = await bindThenLoad(config, logger, (model, p) => {
    if (p.stage !== "cached") progress(`${model}: ${p.stage}`, p.fraction);
  });
  const keyCount = new Set([...http.auth.keys, ...(http.auth.clients ?? []).map((c) => c.key)]).size;
  if (keyCount > 0) logger.info(`API keys: ${keyCount}; requests need Authorization: Bearer <key>`);

  let signalled = false;
  const stopped = onStopSignal((signal) => {
    signalled = true;
    logger.info(`${signal}: refusing new requests; running ones have ${shutdownTimeoutSeconds} s to finish`);
    return drainAndClose(server, engine, shutdownTimeoutSeconds * 1000).then(
      () => {
        logger.info("shut down");
        return 0;
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        return 1;
      },
    );
  });

  try {
    await Promise.race([engine.ready, stopped]);
  } catch (error) {
    stopped.cancel();
    await server.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    throw error instanceof Error ? error : new Error(String(error));
  }
  if (!signalled) {
    const address = server.server.address();
    const url =
      address !== null && typeof address === "object"
        ? `http://${host}:${address.port}/v1`
        : `http://${host}:${port}/v1`;
    logger.info(`Ready: ${[...config.models, ...config.upstreams].map((m) => m.id).join(", ")} at ${url}`);
  }
  return stopped;
}

/**
 * The port bound first (a port in use fails at once, before any load), then the models start
 * loading behind it: `engine.ready` tells the outcome. What `lavash serve` and `startLavash` share.
 */
export async function bindThenLoad(
  config: ServeConfig,
  logger: Logger,
  onProgress?: LlamaEngineOptions["onProgress"],
): Promise<{ server: FastifyInstance; engine: LlamaEngine }> {
  const {
    host,
    port,
    logLevel: _logLevel,
    http,
    shutdownTimeoutSeconds: _shutdown,
    responses,
    upstreams,
    ...engineOptions
  } = config;
  // Before the port too: a fallback naming no served model fails the start.
  const gateway =
    upstreams.length > 0
      ? new Gateway(
          upstreams,
          engineOptions.models.map((m) => m.id),
          logger,
        )
      : null;
  // Before the port: a database that cannot open fails the start as a port in use does.
  const responseStore = responses ? openResponseStore(responses.path, responses.bounds) : null;
  logger.info(responseStore ? `Stored responses: ${responseStore.path}` : "Stored responses: off (--no-store)");
  // Requests sent together start in one decode although the server reads them one by one.
  const arrivals = new Arrivals();
  const engine = new LlamaEngine({
    ...engineOptions,
    arriving: () => arrivals.pending(),
    deferLoading: true,
    logger: {
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    ...(onProgress ? { onProgress } : {}),
  });
  const server = await startServer({ engine, host, port, logger, responseStore, gateway, arrivals, ...http }).catch(
    async (error: unknown) => {
      await engine.close();
      responseStore?.close();
      throw new Error(listenFailure(error, host, port));
    },
  );
  engine.start();
  return { server, engine };
}

/** Resolves to the exit code once SIGINT or SIGTERM has drained the server. */
function onStopSignal(stop: (signal: string) => Promise<number>): Promise<number> & { cancel(): void } {
  let handler: (signal: string) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    // Not "a second signal means now": `npm start` and `timeout` pass one Ctrl-C or SIGTERM on
    // as two. --shutdown-timeout already bounds the wait.
    let stopping = false;
    handler = (signal) => {
      if (stopping) return;
      stopping = true;
      resolve(stop(signal));
    };
  });
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return Object.assign(done, {
    cancel: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  });
}

/** Why the port could not be bound, and what to do. */
function listenFailure(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return `port ${port} is already in use on ${host}: stop what listens there, or pick another port with --port`;
    case "EACCES":
      return `not allowed to listen on ${where} (ports below 1024 need privileges): pick another port with --port`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return `cannot listen on ${where}: ${host} is not an address of this machine (--host)`;
    default:
      return `cannot listen on ${where}: ${(error as Error).message}`;
  }
}
