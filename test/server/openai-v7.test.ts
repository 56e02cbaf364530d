// The same server against the openai client's next major (v7, installed as `openai-v7`). v7
// declares Node >= 22; where it runs, both majors must keep working.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.js";

type OpenAIV7 = typeof import("openai-v7").default;

let OpenAI: OpenAIV7 | null = null;
let server: TestServer;
let loadError = "";
try {
  OpenAI = (await import("openai-v7")).default;
} catch (error) {
  loadError = (error as Error).message;
}

const skip = OpenAI === null ? `openai v7 does not load on Node ${process.versions.node}: ${loadError}` : false;

before(async () => {
  if (!skip) server = await startTestServer();
});
after(async () => {
  await server?.close();
});

describe("openai v7 client", { skip }, () => {
  const messages = [{ role: "user" as const, content: "hello" }];

  it("creates a chat completion and reads the request id", async () => {
    const client = new OpenAI!({ baseURL: server.baseURL, apiKey: "x", maxRetries: 0 });
    const res = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 6, seed: 1 });
    assert.equal(res.usage?.completion_tokens, 6);
    assert.match(res._request_id ?? "", /^req_/);
  });

  it("reassembles a stream with usage", async () => {
    const client = new OpenAI!({ baseURL: server.baseURL, apiKey: "x", maxRetries: 0 });
    const request = { model: "tiny", messages, max_tokens: 10, seed: 5 };
    const plain = await client.chat.completions.create(request);
    const final = await client.chat.completions
      .stream({ ...request, stream_options: { include_usage: true } })
      .finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.deepEqual(final.usage, plain.usage);
  });

  it("raises typed errors", async () => {
    const client = new OpenAI!({ baseURL: server.baseURL, apiKey: "x", maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: "nope", messages }), OpenAI!.NotFoundError);
    await assert.rejects(
      client.chat.completions.create({ model: "tiny", messages, temperature: 9 }),
      OpenAI!.BadRequestError,
    );
    await assert.rejects(client.models.retrieve("nope"), OpenAI!.NotFoundError);
  });

  it("lists models and runs a legacy completion stream", async () => {
    const client = new OpenAI!({ baseURL: server.baseURL, apiKey: "x", maxRetries: 0 });
    assert.deepEqual(
      (await client.models.list()).data.map((m) => m.id),
      ["tiny"],
    );
    const stream = await client.completions.create({
      model: "tiny",
      prompt: "Hi",
      max_tokens: 4,
      seed: 2,
      stream: true,
    });
    let finish: string | null = null;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    assert.equal(finish, "length");
  });
});
