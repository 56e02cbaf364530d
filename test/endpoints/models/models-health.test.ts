// GET /v1/models, GET /v1/models/{id} (ids with a slash, encoded or not), GET /health while
// loading and once ready, x-request-id on every response.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { pino } from "pino";
import { LlamaEngine } from "../../../src/engine/llama/llama-engine.js";
import { startServer } from "../../../src/server/app.js";

const logger = pino({ level: "silent" });
let engine: LlamaEngine;
let close: () => Promise<void>;
let root: string;
let client: OpenAI;
let healthWhileLoading: { status: number; body: unknown };

before(async () => {
  engine = new LlamaEngine({
    models: [
      { id: "tiny", source: "builtin:tiny" },
      { id: "lavash/tiny-alias", source: "builtin:tiny" },
    ],
    contextSize: 256,
    parallel: 1,
    threads: 2,
    batchSize: 128,
    prefillChunk: 64,
    maxQueue: 4,
    gpu: false,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  // The server listens before the models are loaded, as `lavash serve` does.
  const app = await startServer({ engine, logger, host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  root = `http://127.0.0.1:${address.port}`;
  const res = await fetch(`${root}/health`);
  healthWhileLoading = { status: res.status, body: await res.json() };
  await engine.ready;
  client = new OpenAI({ baseURL: `${root}/v1`, apiKey: "x", maxRetries: 0 });
  close = async () => {
    await app.close();
    await engine.close();
  };
});
after(async () => {
  await close?.();
});

describe("models and health", () => {
  it("answers /health with 503 while loading and 200 once ready", async () => {
    assert.equal(healthWhileLoading.status, 503);
    assert.equal((healthWhileLoading.body as { error: { type: string } }).error.type, "server_error");
    const res = await fetch(`${root}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("lists the served models", async () => {
    const page = await client.models.list();
    assert.deepEqual(
      page.data.map((m) => m.id),
      ["tiny", "lavash/tiny-alias"],
    );
    for (const m of page.data) {
      assert.equal(m.object, "model");
      assert.equal(typeof m.created, "number");
      assert.equal(m.owned_by, "lavash");
    }
  });

  it("retrieves a model, with a slash in its id encoded (SDK v5+) or raw (SDK v4)", async () => {
    assert.equal((await client.models.retrieve("tiny")).id, "tiny");
    assert.equal((await client.models.retrieve("lavash/tiny-alias")).id, "lavash/tiny-alias");
    for (const path of ["lavash/tiny-alias", "lavash%2Ftiny-alias", "lavash%2ftiny-alias"]) {
      const res = await fetch(`${root}/v1/models/${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(((await res.json()) as { id: string }).id, "lavash/tiny-alias");
    }
  });

  it("serves a request by the alias with a slash", async () => {
    const res = await client.chat.completions.create({
      model: "lavash/tiny-alias",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    assert.equal(res.model, "lavash/tiny-alias");
    assert.equal(res.usage?.completion_tokens, 2);
  });

  it("sends x-request-id on every response, errors included", async () => {
    for (const [method, path] of [
      ["GET", "/health"],
      ["GET", "/v1/models"],
      ["GET", "/v1/models/none"],
      ["DELETE", "/v1/models/tiny"],
      ["GET", "/nowhere"],
    ] as const) {
      const res = await fetch(`${root}${path}`, { method });
      assert.match(res.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{32}$/, `${method} ${path}`);
      await res.arrayBuffer();
    }
  });
});
