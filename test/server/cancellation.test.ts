// A client that goes away stops its generation and frees its sequence at once: streaming,
// non-streaming, and while waiting in the queue.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, waitForIdle, type TestServer } from "../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ parallel: 2, contextSize: 2048 });
});
after(async () => {
  await server?.close();
});

const long = {
  model: "tiny",
  messages: [{ role: "user" as const, content: "Go on forever." }],
  max_tokens: 1500,
  seed: 1,
};

async function generatedSoFar(): Promise<number> {
  return (await server.status()).stats.tokensGenerated;
}

describe("cancellation", () => {
  it("frees the sequence when a streaming client aborts mid-stream", async () => {
    const before = await generatedSoFar();
    const stream = await server.client.chat.completions.create({ ...long, stream: true });
    let chunks = 0;
    for await (const _ of stream) if (++chunks === 5) break; // the SDK aborts the HTTP request
    const status = await waitForIdle(server, 2000);
    // The rest of the 1,500 tokens were never generated.
    assert.ok(status.stats.tokensGenerated - before < 100, `generated ${status.stats.tokensGenerated - before} tokens`);
  });

  it("frees the sequence when a non-streaming client disconnects", async () => {
    const before = await generatedSoFar();
    const controller = new AbortController();
    const pending = server.client.chat.completions.create(long, { signal: controller.signal });
    // Wait until the engine is generating for it, then hang up.
    for (let i = 0; i < 200 && (await server.status()).sequences.every((s) => s.state === "idle"); i++)
      await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(pending);
    const status = await waitForIdle(server, 2000);
    assert.ok(status.stats.tokensGenerated - before < 500, `generated ${status.stats.tokensGenerated - before} tokens`);
  });

  it("drops a queued request whose client went away, without running it", async () => {
    // Two long streams hold both sequences; a third request waits in the queue.
    const holders = [1, 2].map(async (seed) => {
      const stream = await server.client.chat.completions.create({ ...long, seed, stream: true });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      return stream;
    });
    const streams = await Promise.all(holders);
    // The role chunk goes out before the engine admits a request: wait until both really run.
    for (let i = 0; i < 200 && (await server.status()).sequences.some((s) => s.state === "idle"); i++)
      await new Promise((r) => setTimeout(r, 10));
    const controller = new AbortController();
    const queued = server.client.chat.completions.create({ ...long, seed: 3 }, { signal: controller.signal });
    for (let i = 0; i < 200 && (await server.status()).queued === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const waiting = await server.status();
    assert.equal(waiting.queued, 1, JSON.stringify(waiting));
    controller.abort();
    await assert.rejects(queued);
    for (let i = 0; i < 200 && (await server.status()).queued !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    const status = await server.status();
    assert.equal(status.queued, 0);
    assert.equal(status.sequences.filter((s) => s.state !== "idle").length, 2, "the two streams keep running");
    for (const s of streams) s.controller.abort();
    await waitForIdle(server, 2000);
  });
});
