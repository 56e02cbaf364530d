// POST /v1/embeddings against the real server with the official openai client: every input form,
// both encodings, unit-length deterministic vectors of the model's dimension, usage, and 400s.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ contextSize: 256, parallel: 1 });
});
after(async () => {
  await server?.close();
});

async function tokens(prompt: string): Promise<number[]> {
  const res = await fetch(new URL("/tokenize", server.baseURL), {
    method: "POST",
    body: JSON.stringify({ model: "tiny", prompt }),
  });
  return ((await res.json()) as { tokens: number[] }).tokens;
}

function norm(v: readonly number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

async function expectBadRequest(promise: Promise<unknown>, param: string | null): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    assert.equal(error.param, param);
    return true;
  });
}

describe("embeddings", () => {
  it("embeds a string: the model's dimension, unit length, deterministic", async () => {
    // The SDK asks for base64 by default and decodes it to numbers.
    const a = await server.client.embeddings.create({ model: "tiny", input: "hello world" });
    assert.equal(a.object, "list");
    assert.equal(a.model, "tiny");
    assert.equal(a.data.length, 1);
    assert.equal(a.data[0]!.object, "embedding");
    assert.equal(a.data[0]!.index, 0);
    const v = a.data[0]!.embedding;
    assert.equal(v.length, 128);
    assert.ok(v.every(Number.isFinite));
    assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    const b = await server.client.embeddings.create({ model: "tiny", input: "hello world" });
    assert.deepEqual(b.data[0]!.embedding, v);
    const helloTokens = await tokens("hello world");
    assert.deepEqual(a.usage, { prompt_tokens: helloTokens.length, total_tokens: helloTokens.length });
  });

  it("gives the same numbers as float and as base64", async () => {
    const decoded = await server.client.embeddings.create({ model: "tiny", input: "same numbers" });
    const float = await server.client.embeddings.create({
      model: "tiny",
      input: "same numbers",
      encoding_format: "float",
    });
    assert.ok(Array.isArray(float.data[0]!.embedding));
    assert.deepEqual(float.data[0]!.embedding, decoded.data[0]!.embedding);
    const raw = await server.client.embeddings.create({
      model: "tiny",
      input: "same numbers",
      encoding_format: "base64",
    });
    const text = raw.data[0]!.embedding as unknown as string;
    assert.equal(typeof text, "string");
    const bytes = Buffer.from(text, "base64");
    assert.equal(bytes.length, 128 * 4);
    const fromBytes = Array.from({ length: 128 }, (_, i) => bytes.readFloatLE(i * 4));
    assert.deepEqual(fromBytes, float.data[0]!.embedding);
  });

  it("embeds string[], int[] and int[][] in order, with usage summed", async () => {
    const inputs = ["hello world", "goodbye moon"];
    const many = await server.client.embeddings.create({ model: "tiny", input: inputs });
    assert.deepEqual(
      many.data.map((d) => d.index),
      [0, 1],
    );
    const [first, second] = many.data.map((d) => d.embedding);
    assert.notDeepEqual(first, second);
    const single = await server.client.embeddings.create({ model: "tiny", input: "hello world" });
    assert.deepEqual(first, single.data[0]!.embedding);

    const ids = await Promise.all(inputs.map(tokens));
    assert.equal(many.usage.prompt_tokens, ids[0]!.length + ids[1]!.length);
    const flat = await server.client.embeddings.create({ model: "tiny", input: ids[0]! });
    assert.equal(flat.data.length, 1);
    assert.deepEqual(flat.data[0]!.embedding, first);
    const nested = await server.client.embeddings.create({ model: "tiny", input: ids });
    assert.deepEqual(
      nested.data.map((d) => d.embedding),
      [first, second],
    );
    assert.equal(nested.usage.prompt_tokens, many.usage.prompt_tokens);
  });

  it("accepts dimensions equal to the model's and refuses any other", async () => {
    const ok = await server.client.embeddings.create({ model: "tiny", input: "x", dimensions: 128 });
    assert.equal(ok.data[0]!.embedding.length, 128);
    await expectBadRequest(
      server.client.embeddings.create({ model: "tiny", input: "x", dimensions: 64 }),
      "dimensions",
    );
  });

  it("refuses empty input, empty token arrays and ids outside the vocabulary", async () => {
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: "" }), "input");
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: [] }), "input");
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: ["a", ""] }), "input[1]");
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: [[1, 2], []] }), "input[1]");
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: [1, -2] }), "input[1]");
    await expectBadRequest(server.client.embeddings.create({ model: "tiny", input: [9707, 151936] }), "input");
  });

  it("refuses an input longer than the context, an unknown model and unknown parameters", async () => {
    await assert.rejects(
      server.client.embeddings.create({ model: "tiny", input: "word ".repeat(300) }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError);
        assert.equal(error.code, "context_length_exceeded");
        assert.equal(error.param, "input");
        return true;
      },
    );
    await assert.rejects(server.client.embeddings.create({ model: "nope", input: "x" }), OpenAI.NotFoundError);
    await expectBadRequest(
      server.client.embeddings.create({ model: "tiny", input: "x", frobnicate: 1 } as never),
      "frobnicate",
    );
  });
});
