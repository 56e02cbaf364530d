// A legacy request with more prompts than the queue can hold: each prompt is its own engine job,
// and only the first counts against --max-queue (the endpoint already bounds the choices), so
// such a request is not refused on every retry while other requests keep the sequences busy.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ parallel: 1, maxQueue: 2 });
});
after(() => server.close());

async function untilDecoding(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await server.status()).sequences.some((s) => s.generatedTokens > 0)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the first request never started decoding");
}

describe("legacy completions with more prompts than the queue holds", () => {
  it("queues every prompt of an accepted request, while the sequence is busy", async () => {
    const busy = server.client.completions.create({ model: "tiny", prompt: "busy", max_tokens: 48, seed: 1 });
    await untilDecoding();
    const prompts = ["one", "two", "three", "four"];
    const res = await server.client.completions.create({ model: "tiny", prompt: prompts, max_tokens: 2, seed: 3 });
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    assert.equal(res.usage?.completion_tokens, 8);
    assert.equal((await busy).usage?.completion_tokens, 48);
  });

  it("still refuses a new request with 429 while the queue is full", async () => {
    const busy = server.client.completions.create({ model: "tiny", prompt: ["a", "b", "c"], max_tokens: 48, seed: 1 });
    await untilDecoding();
    await assert.rejects(server.client.completions.create({ model: "tiny", prompt: "x", max_tokens: 1 }), {
      status: 429,
    });
    assert.equal((await busy).choices.length, 3);
  });
});
