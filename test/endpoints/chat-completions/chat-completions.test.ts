// POST /v1/chat/completions through the official openai client, on the real server and engine.
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

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Say something in 中文 and add an emoji 🎉." },
];

describe("chat completions", () => {
  it("returns a complete chat.completion with exact usage", async () => {
    const res = await server.client.chat.completions.create({ model: "tiny", messages, max_tokens: 12, seed: 1 });
    assert.match(res.id, /^chatcmpl-/);
    assert.equal(res.object, "chat.completion");
    assert.equal(res.model, "tiny");
    assert.equal(typeof res.created, "number");
    assert.equal(res.choices.length, 1);
    const choice = res.choices[0]!;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, "assistant");
    assert.equal(typeof choice.message.content, "string");
    assert.equal(choice.message.refusal, null);
    assert.equal(choice.logprobs, null);
    // Random weights almost never emit end-of-turn in 12 tokens; either way the count is exact.
    assert.ok(choice.finish_reason === "length" || choice.finish_reason === "stop");
    assert.ok(res.usage);
    if (choice.finish_reason === "length") assert.equal(res.usage.completion_tokens, 12);
    assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    assert.match(res._request_id ?? "", /^req_[0-9a-f]{32}$/);
  });

  it("counts prompt tokens as the chat template renders them", async () => {
    const short = await server.client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 1,
    });
    const long = await server.client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "hi hi hi hi hi" }],
      max_tokens: 1,
    });
    // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" is 9 tokens in the Qwen vocabulary.
    assert.equal(short.usage?.prompt_tokens, 9);
    assert.equal(long.usage!.prompt_tokens - short.usage!.prompt_tokens, 4);
  });

  it("gives byte-identical output for the same seed, and different output for another seed", async () => {
    const request = { model: "tiny", messages, max_tokens: 24, seed: 1234, temperature: 1 };
    const a = await server.client.chat.completions.create(request);
    const b = await server.client.chat.completions.create(request);
    const c = await server.client.chat.completions.create({ ...request, seed: 4321 });
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    assert.notEqual(a.choices[0]!.message.content, c.choices[0]!.message.content);
  });

  it("samples randomly when no seed is given", async () => {
    const request = { model: "tiny", messages, max_tokens: 16, temperature: 1 };
    const outputs = new Set<string | null>();
    for (let i = 0; i < 3; i++)
      outputs.add((await server.client.chat.completions.create(request)).choices[0]!.message.content);
    assert.ok(outputs.size > 1, "three unseeded samples were all identical");
  });

  it("is greedy and deterministic at temperature 0", async () => {
    const request = { model: "tiny", messages, max_tokens: 16, temperature: 0 };
    const a = await server.client.chat.completions.create(request);
    const b = await server.client.chat.completions.create({ ...request, seed: 99 });
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
  });

  it("honours max_completion_tokens over max_tokens", async () => {
    const res = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 20,
      max_completion_tokens: 5,
      seed: 3,
    });
    assert.equal(res.choices[0]!.finish_reason, "length");
    assert.equal(res.usage!.completion_tokens, 5);
  });

  it("reassembles a stream with .stream() and finalChatCompletion(), usage included", async () => {
    const request = { model: "tiny", messages, max_tokens: 20, seed: 77 };
    const plain = await server.client.chat.completions.create(request);
    const stream = server.client.chat.completions.stream({ ...request, stream_options: { include_usage: true } });
    let deltas = "";
    stream.on("content", (delta) => (deltas += delta));
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.equal(deltas, plain.choices[0]!.message.content);
    assert.equal(final.choices[0]!.finish_reason, plain.choices[0]!.finish_reason);
    assert.deepEqual(final.usage, plain.usage);
  });

  it("streams raw chunks in the documented order", async () => {
    const stream = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 8,
      seed: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, "every chunk carries the same id");
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: "assistant", content: "", refusal: null });
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, 8);
    const finish = chunks.at(-2)!;
    assert.equal(finish.choices[0]!.finish_reason, "length");
    assert.deepEqual(finish.choices[0]!.delta, {});
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    for (const c of chunks.slice(1, -2)) assert.equal(typeof c.choices[0]!.delta.content, "string");
  });

  it("sends no usage chunk without include_usage", async () => {
    const stream = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 4,
      seed: 5,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.choices.length === 1 && !("usage" in c)));
  });
});
