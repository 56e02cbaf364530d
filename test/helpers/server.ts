// Starts the real lavash server (real engine, real built-in model) on a loopback port for a test
// file, with the official openai client pointed at it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { LlamaEngine, type LlamaEngineOptions } from "../../src/engine/llama/llama-engine.js";
import { startServer, type AppOptions } from "../../src/server/app.js";
import type { EngineStatus } from "../../src/engine/types.js";
import { openResponseStore } from "../../src/storage/response-store.js";

/** The app's own options (auth, CORS, metrics, timeouts); the engine and logger come from the helper. */
export type TestAppOptions = Omit<AppOptions, "engine" | "logger">;

export interface TestApp {
  app: FastifyInstance;
  /** http://127.0.0.1:<port>, for routes outside /v1 (/health, /metrics, /tokenize). */
  root: string;
  baseURL: string;
  /** Configured with the first API key when the app has keys. */
  client: OpenAI;
}

export interface TestServer extends TestApp {
  engine: LlamaEngine;
  status(): Promise<EngineStatus & { meanSequencesPerDecode: number }>;
  /** Closes the app and the engine; safe to call more than once. */
  close(): Promise<void>;
}

const logger = pino({ level: process.env.LAVASH_TEST_LOG ?? "silent" });

/** The tests' engine: the tiny model, 4 sequences of 1,024 tokens, CPU, logs to the test logger. */
export function testEngineOptions(overrides: Partial<LlamaEngineOptions> = {}): LlamaEngineOptions {
  return {
    models: [{ id: "tiny", source: "builtin:tiny" }],
    contextSize: 1024,
    parallel: 4,
    threads: 2,
    batchSize: 512,
    prefillChunk: 64,
    maxQueue: 16,
    gpu: false,
    logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    ...overrides,
  };
}

export async function startTestServer(
  overrides: Partial<LlamaEngineOptions> = {},
  appOptions: TestAppOptions = {},
): Promise<TestServer> {
  const engine = new LlamaEngine(testEngineOptions(overrides));
  await engine.ready;
  const served = await listenTestApp(engine, appOptions);
  const apiKey = appOptions.auth?.keys[0];
  let closing: Promise<void> | undefined;
  return {
    ...served,
    engine,
    status: async () =>
      (await (
        await fetch(`${served.baseURL}/status`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} })
      ).json()) as EngineStatus & {
        meanSequencesPerDecode: number;
      },
    close: () =>
      (closing ??= (async () => {
        await served.app.close();
        await engine.close();
      })()),
  };
}

/** Another app over an engine already running (several apps may share one engine). */
export async function listenTestApp(engine: LlamaEngine, appOptions: TestAppOptions = {}): Promise<TestApp> {
  const app = await startServer({ engine, logger, host: "127.0.0.1", port: 0, ...appOptions });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  const root = `http://127.0.0.1:${address.port}`;
  const baseURL = `${root}/v1`;
  return {
    app,
    root,
    baseURL,
    client: new OpenAI({ baseURL, apiKey: appOptions.auth?.keys[0] ?? "test-key", maxRetries: 0, timeout: 60_000 }),
  };
}

/** Polls until every sequence is idle and nothing is queued (or fails after `timeoutMs`). */
export async function waitForIdle(server: TestServer, timeoutMs = 10_000): Promise<EngineStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await server.status();
    if (status.queued === 0 && status.sequences.every((s) => s.state === "idle")) return status;
    if (Date.now() > deadline) throw new Error(`sequences still busy: ${JSON.stringify(status.sequences)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A test server whose Responses API stores into a fresh SQLite file, removed on close. */
export async function startStoringTestServer(
  overrides: Partial<LlamaEngineOptions> = {},
  appOptions: TestAppOptions = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "lavash-responses-"));
  const server = await startTestServer(overrides, {
    ...appOptions,
    responseStore: openResponseStore(join(dir, "responses.sqlite")),
  });
  return {
    ...server,
    // The app closes the store.
    close: () => server.close().finally(() => rmSync(dir, { recursive: true, force: true })),
  };
}
