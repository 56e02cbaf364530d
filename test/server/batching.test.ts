// Continuous batching: concurrent requests advance together, sharing each native decode.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, waitForIdle, type TestServer } from "../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ parallel: 4 });
});
after(async () => {
  await server?.close();
});

describe("continuous batching", () => {
  it("shares decodes across 4 concurrent streams", async () => {
    const before = (await server.status()).stats;
    const run = async (seed: number): Promise<void> => {
      const stream = await server.client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: `Story number ${seed}` }],
        max_tokens: 48,
        seed,
        stream: true,
      });
      for await (const _ of stream);
    };
    await Promise.all([1, 2, 3, 4].map(run));
    const after = (await waitForIdle(server)).stats;
    const decodes = after.decodeSteps - before.decodeSteps;
    const sequences = after.sequencesDecoded - before.sequencesDecoded;
    // 4 x 47 decode-phase tokens; ideally 47 decodes of 4 sequences each. Independent loops
    // (node-llama-cpp's own dispatch) measured ~1 sequence per decode.
    assert.equal(sequences, 4 * 47);
    assert.ok(
      sequences / decodes >= 3.5,
      `mean sequences per decode ${(sequences / decodes).toFixed(2)} (${decodes} decodes)`,
    );
  });

  it("queues requests beyond the sequences and serves them all", async () => {
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        server.client.completions.create({ model: "tiny", prompt: `Item ${i}:`, max_tokens: 6, seed: i }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.usage?.completion_tokens),
      Array(7).fill(6),
    );
    await waitForIdle(server);
  });
});
