// The HTTP layer's handling of engine failures, with a scripted engine (a real model cannot be
// made to fail on cue): an error after streaming began arrives as `data: {"error": ...}` and the
// SDK raises APIError; before streaming it is a normal JSON error with the mapped status.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { pino } from "pino";
import { EngineError } from "../../../src/engine/errors.js";
import type {
  EmbeddingResult,
  Engine,
  EngineStatus,
  GenerateRequest,
  Generation,
  GenerationEvent,
  ModelInfo,
  TokenizeResult,
} from "../../../src/engine/types.js";
import { startServer } from "../../../src/server/app.js";

class ScriptedEngine implements Engine {
  readonly state = "ready" as const;
  failBefore: EngineError | null = null;
  lastSignal: AbortSignal | undefined;
  listModels(): ModelInfo[] {
    return [{ id: "scripted", created: 0, ownedBy: "test" }];
  }
  getModel(id: string): ModelInfo | undefined {
    return this.listModels().find((m) => m.id === id);
  }
  async generate(request: GenerateRequest): Promise<Generation> {
    if (this.failBefore) throw this.failBefore;
    this.lastSignal = request.signal;
    async function* events(): AsyncGenerator<GenerationEvent> {
      yield { type: "text", index: 0, text: "Hello", logprobs: null };
      yield { type: "text", index: 0, text: " world", logprobs: null };
      throw new EngineError("internal", "Decoding failed: out of memory");
    }
    return Object.assign(events(), { promptTokens: 3 });
  }
  status(): EngineStatus {
    return {
      state: "ready",
      models: ["scripted"],
      sequences: [],
      queued: 0,
      stats: { decodeSteps: 0, sequencesDecoded: 0, promptTokensEvaluated: 0, tokensGenerated: 0 },
    };
  }
  async tokenize(): Promise<TokenizeResult> {
    throw new EngineError("unsupported", "The scripted engine does not tokenize.");
  }
  async detokenize(): Promise<string> {
    throw new EngineError("unsupported", "The scripted engine does not detokenize.");
  }
  async embed(): Promise<EmbeddingResult> {
    throw new EngineError("unsupported", "The scripted engine does not embed.");
  }
  async close(): Promise<void> {}
}

const engine = new ScriptedEngine();
let client: OpenAI;
let baseURL: string;
let close: () => Promise<void>;
before(async () => {
  const app = await startServer({ engine, logger: pino({ level: "silent" }), host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  baseURL = `http://127.0.0.1:${address.port}/v1`;
  client = new OpenAI({ baseURL, apiKey: "x", maxRetries: 0 });
  close = () => app.close();
});
after(async () => {
  await close?.();
});

const request = { model: "scripted", messages: [{ role: "user" as const, content: "hi" }] };

describe("engine failures over HTTP", () => {
  it("sends a mid-stream failure as a data: error event that the SDK raises", async () => {
    engine.failBefore = null;
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      })(),
      (error: unknown) => error instanceof OpenAI.APIError && /out of memory/.test(error.message),
    );
    assert.equal(text, "Hello world");
  });

  it("frames the mid-stream error exactly, without [DONE]", async () => {
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...request, stream: true }),
      headers: { "content-type": "application/json" },
    });
    const body = await res.text();
    const events = body.split("\n\n").filter((e) => e.length > 0);
    const last = JSON.parse(events.at(-1)!.replace(/^data: /, "")) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(last.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(last.error.type, "server_error");
    assert.ok(!body.includes("[DONE]"));
  });

  it("maps engine refusals before streaming to JSON errors the SDK classifies", async () => {
    const cases: [EngineError, new (...a: never[]) => Error, number][] = [
      [new EngineError("overloaded", "busy"), OpenAI.RateLimitError, 429],
      [new EngineError("not_ready", "loading"), OpenAI.InternalServerError, 503],
      [new EngineError("model_not_found", "no"), OpenAI.NotFoundError, 404],
      [new EngineError("internal", "boom"), OpenAI.InternalServerError, 500],
    ];
    for (const [failure, Class, status] of cases) {
      engine.failBefore = failure;
      for (const stream of [false, true]) {
        await assert.rejects(client.chat.completions.create({ ...request, stream }), (e: unknown) => {
          assert.ok(e instanceof Class, `${failure.kind}: got ${String(e)}`);
          assert.equal((e as InstanceType<typeof OpenAI.APIError>).status, status);
          return true;
        });
      }
    }
    engine.failBefore = null;
  });

  it("sends Retry-After headers with 429", async () => {
    engine.failBefore = new EngineError("overloaded", "busy");
    const res = await fetch(`${baseURL}/chat/completions`, {
      method: "POST",
      body: JSON.stringify(request),
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(res.headers.get("retry-after-ms"), "1000");
    engine.failBefore = null;
  });
});
