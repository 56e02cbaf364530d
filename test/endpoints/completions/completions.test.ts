// POST /v1/completions (legacy) through the official openai client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

describe("legacy completions", () => {
  it("returns a text_completion with exact usage", async () => {
    const res = await server.client.completions.create({
      model: "tiny",
      prompt: "Once upon a time",
      max_tokens: 10,
      seed: 2,
    });
    assert.match(res.id, /^cmpl-/);
    assert.equal(res.object, "text_completion");
    assert.equal(res.choices.length, 1);
    assert.equal(res.choices[0]!.index, 0);
    assert.equal(res.choices[0]!.logprobs, null);
    assert.equal(res.choices[0]!.finish_reason, "length");
    // "Once upon a time" is 4 tokens in the Qwen vocabulary; no BOS is added.
    assert.deepEqual(res.usage, {
      prompt_tokens: 4,
      completion_tokens: 10,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 0 },
    });
  });

  it("defaults max_tokens to 16, as OpenAI does", async () => {
    const res = await server.client.completions.create({ model: "tiny", prompt: "Hello", seed: 3 });
    assert.equal(res.usage?.completion_tokens, 16);
  });

  it("generates nothing for max_tokens 0", async () => {
    const res = await server.client.completions.create({ model: "tiny", prompt: "Hello", max_tokens: 0 });
    assert.equal(res.choices[0]!.text, "");
    assert.equal(res.choices[0]!.finish_reason, "length");
    assert.equal(res.usage?.completion_tokens, 0);
  });

  it("conditions an empty prompt on the document boundary token", async () => {
    const res = await server.client.completions.create({ model: "tiny", prompt: "", max_tokens: 3, seed: 1 });
    assert.equal(res.usage?.prompt_tokens, 1);
    assert.equal(res.usage?.completion_tokens, 3);
  });

  it("streams the same text as the non-streaming response, with usage", async () => {
    const request = { model: "tiny", prompt: "The capital of France is", max_tokens: 20, seed: 11 };
    const plain = await server.client.completions.create(request);
    const stream = await server.client.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.text ?? "").join("");
    assert.equal(text, plain.choices[0]!.text);
    assert.ok(chunks.every((c) => c.object === "text_completion"));
    const finish = chunks.at(-2)!;
    assert.equal(finish.choices[0]!.finish_reason, "length");
    assert.deepEqual(chunks.at(-1)!.choices, []);
    const { prompt_tokens, completion_tokens, total_tokens } = chunks.at(-1)!.usage!;
    assert.deepEqual(
      { prompt_tokens, completion_tokens, total_tokens },
      {
        prompt_tokens: plain.usage!.prompt_tokens,
        completion_tokens: plain.usage!.completion_tokens,
        total_tokens: plain.usage!.total_tokens,
      },
    );
    // The streamed request found the same prompt already in a sequence's KV cache.
    // The last two prompt tokens are always evaluated again (deterministic logits).
    assert.equal(chunks.at(-1)!.usage!.prompt_tokens_details?.cached_tokens, plain.usage!.prompt_tokens - 2);
  });

  it("evaluates only the last cached prompt token again for a request without a seed", async () => {
    const request = { model: "tiny", prompt: "A lighthouse keeper counts the ships that pass", max_tokens: 2 };
    const first = await server.client.completions.create(request);
    const again = await server.client.completions.create(request);
    const prompt = first.usage!.prompt_tokens;
    assert.equal(again.usage!.prompt_tokens_details?.cached_tokens, prompt - 1);
    // The same request with a seed evaluates two again (the seed guarantee).
    const seeded = await server.client.completions.create({ ...request, seed: 3 });
    assert.equal(seeded.usage!.prompt_tokens_details?.cached_tokens, prompt - 2);
  });

  it("keeps control-token text in a prompt as plain text", async () => {
    // "<|im_end|>" typed by a user must not become the end-of-turn control token.
    const res = await server.client.completions.create({ model: "tiny", prompt: "<|im_end|>", max_tokens: 1 });
    assert.ok(res.usage!.prompt_tokens > 1, `prompt became ${res.usage!.prompt_tokens} token(s)`);
  });
});
