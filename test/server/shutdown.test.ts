// Graceful shutdown: new requests are refused at once; running ones finish when the deadline
// allows, and are stopped (stream: error event; JSON: 503) when it does not; then the engine is
// closed. Last, the real `lavash serve` process under SIGTERM.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { drainAndClose } from "../../src/server/shutdown.js";
import { startServeProcess } from "../cli/run-cli.js";
import { startTestServer } from "../helpers/server.js";

const messages = [{ role: "user" as const, content: "Keep talking." }];
// Servers here use one thread: on a busy machine llama.cpp's spinning threads slow each other down
// by orders of magnitude, and these tests need generations of a predictable length.

/** Resolves when `promise` does, or fails the test after `ms`. */
function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("graceful shutdown", () => {
  it("refuses new requests and lets a running stream finish", async () => {
    const server = await startTestServer({ parallel: 2, contextSize: 1024, threads: 1 });
    try {
      const stream = await server.client.chat.completions.create({
        model: "tiny",
        messages,
        max_tokens: 80,
        seed: 1,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = stream[Symbol.asyncIterator]();
      // Wait until the engine runs it (the role chunk goes out before admission).
      let first = await chunks.next();
      while (!first.done && !first.value.choices[0]?.delta.content) first = await chunks.next();

      let drained = false;
      const draining = drainAndClose(server.app, server.engine, 60_000).then(() => (drained = true));
      // In-process, as a request on a kept-alive connection would arrive: refused with a 503.
      const refused = await server.app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        payload: { model: "tiny", messages },
      });
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.headers.connection, "close");
      const body = refused.json<{ error: { code: string; type: string; message: string } }>();
      assert.equal(body.error.code, "service_unavailable");
      assert.match(body.error.message, /shutting down/);
      // Over the network: the listener is closed, or the request is refused.
      const fresh = await fetch(`${server.root}/health`).then(
        (r) => r.status,
        () => "connection refused",
      );
      assert.ok(fresh === 503 || fresh === "connection refused", String(fresh));

      let finish: string | null = null;
      let completionTokens = 0;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        finish = next.value.choices[0]?.finish_reason ?? finish;
        completionTokens = next.value.usage?.completion_tokens ?? completionTokens;
      }
      assert.equal(finish, "length");
      assert.equal(completionTokens, 80);
      await bounded(draining, 10_000, "drain");
      assert.ok(drained);
      assert.deepEqual(server.engine.status().sequences, [], "the engine is closed");
    } finally {
      await server.close();
    }
  });

  it("stops what is still running at the deadline: a stream with an error event, a JSON request with a 503", async () => {
    const server = await startTestServer({ parallel: 2, contextSize: 4096, threads: 1 });
    try {
      const long = { model: "tiny", messages, max_tokens: 4000, seed: 2 };
      const stream = await server.client.chat.completions.create({ ...long, stream: true });
      const json = server.client.chat.completions.create(long);
      json.catch(() => undefined);
      for (let i = 0; i < 500 && (await server.status()).sequences.some((s) => s.state === "idle"); i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.ok(
        (await server.status()).sequences.every((s) => s.state !== "idle"),
        "both requests run",
      );

      const started = performance.now();
      const draining = drainAndClose(server.app, server.engine, 200);
      let content = 0;
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) if (chunk.choices[0]?.delta.content) content++;
        })(),
        (error: unknown) => {
          assert.ok(error instanceof OpenAI.APIError, String(error));
          assert.equal(error.status, undefined, "an error event in the stream");
          assert.match(error.message, /shut down before this request finished/);
          return true;
        },
      );
      assert.ok(content > 0);
      await assert.rejects(json, (error: unknown) => {
        assert.ok(error instanceof OpenAI.InternalServerError, String(error));
        assert.equal(error.status, 503);
        assert.equal(error.code, "service_unavailable");
        return true;
      });
      await bounded(draining, 10_000, "drain");
      const seconds = (performance.now() - started) / 1000;
      assert.ok(seconds < 8, `shutdown took ${seconds} s`);
      assert.deepEqual(server.engine.status().sequences, [], "the engine is closed");
    } finally {
      await server.close();
    }
  });

  it("lavash serve drains on SIGTERM and exits 0", { timeout: 120_000 }, async () => {
    const { child, root, log, exited } = await startServeProcess(
      ["--ctx-size", "1024", "--parallel", "1", "--threads", "1"],
      { ...process.env, LAVASH_API_KEY: "" },
    );
    try {
      const client = new OpenAI({ baseURL: `${root}/v1`, apiKey: "x", maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: "tiny",
        messages,
        max_tokens: 200,
        seed: 3,
        stream: true,
        stream_options: { include_usage: true },
      });
      let finish: string | null = null;
      let completionTokens = 0;
      let signalled = false;
      let afterSignal = 0;
      for await (const chunk of stream) {
        if (!signalled && chunk.choices[0]?.delta.content) {
          child.kill("SIGTERM");
          signalled = true;
        } else if (signalled) afterSignal++;
        finish = chunk.choices[0]?.finish_reason ?? finish;
        completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
      }
      assert.ok(signalled);
      assert.ok(afterSignal > 0);
      assert.equal(finish, "length");
      assert.equal(completionTokens, 200);
      // Promptly: no kept-alive connection holds the process open.
      assert.equal(await bounded(exited, 10_000, "exit"), 0, log.join("\n"));
      assert.ok(
        log.some((l) => l.includes("SIGTERM: refusing new requests")),
        log.join("\n"),
      );
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
