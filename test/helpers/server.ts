// Starts the real lavash server (real engine, real built-in model) on a loopback port for a test
// file, with the official openai client pointed at it.
import OpenAI from "openai";
import { pino } from "pino";
import { LlamaEngine, type LlamaEngineOptions } from "../../src/engine/llama/llama-engine.js";
import { startServer } from "../../src/server/app.js";
import type { EngineStatus } from "../../src/engine/types.js";

export interface TestServer {
  baseURL: string;
  client: OpenAI;
  engine: LlamaEngine;
  status(): Promise<EngineStatus & { meanSequencesPerDecode: number }>;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<LlamaEngineOptions> = {}): Promise<TestServer> {
  const logger = pino({ level: process.env.LAVASH_TEST_LOG ?? "silent" });
  const engine = new LlamaEngine({
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
  });
  await engine.ready;
  const app = await startServer({ engine, logger, host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  const baseURL = `http://127.0.0.1:${address.port}/v1`;
  return {
    baseURL,
    client: new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 60_000 }),
    engine,
    status: async () => (await (await fetch(`${baseURL}/status`)).json()) as EngineStatus & { meanSequencesPerDecode: number },
    close: async () => {
      await app.close();
      await engine.close();
    },
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
