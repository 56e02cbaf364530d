// POST /v1/cache/match against a real server (tiny model): the cached tokens a request would
// reuse, for chat, completions and Responses API bodies, equal to what the request then reports.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startStoringTestServer, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  server = await startStoringTestServer({ parallel: 2, threads: 1 }, { auth: { keys: ["k1"] } });
});
after(async () => {
  await server?.close();
});

const SYSTEM = "You answer questions about the weather in one short sentence, politely. ".repeat(4);

// biome-ignore lint/suspicious/noExplicitAny: the tests read wire bodies loosely
type Body = Record<string, any>;

async function post(path: string, body: unknown, key = "k1"): Promise<{ status: number; json: Body }> {
  const res = await fetch(`${server.baseURL}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Body };
}

describe("POST /v1/cache/match", () => {
  it("answers a chat continuation's cached tokens, which the chat completion then reports", async () => {
    const messages = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "Rain in Oslo?" },
    ];
    const cold = await post("/cache/match", { model: "tiny", messages });
    assert.equal(cold.status, 200);
    assert.deepEqual(Object.keys(cold.json).sort(), ["cached_tokens", "model", "prompt_tokens"]);
    assert.equal(cold.json.model, "tiny");
    const first = await post("/chat/completions", { model: "tiny", messages, max_tokens: 3, temperature: 0 });
    assert.equal(first.status, 200);
    assert.equal(first.json.usage.prompt_tokens, cold.json.prompt_tokens);
    const next = [...messages, first.json.choices[0].message, { role: "user", content: "And tomorrow?" }];
    const probe = await post("/cache/match", { model: "tiny", messages: next, max_tokens: 3, stream: true });
    assert.equal(probe.status, 200);
    assert.ok(probe.json.cached_tokens >= cold.json.prompt_tokens - 3, JSON.stringify(probe.json));
    const second = await post("/chat/completions", { model: "tiny", messages: next, max_tokens: 3, temperature: 0 });
    assert.equal(second.json.usage.prompt_tokens, probe.json.prompt_tokens);
    assert.equal(second.json.usage.prompt_tokens_details.cached_tokens, probe.json.cached_tokens);
  });

  it("takes completions bodies (several prompts summed) and Responses API bodies with their stored history", async () => {
    const text = "Once upon a time in a quiet village by the sea, ".repeat(3);
    await post("/completions", { model: "tiny", prompt: text, max_tokens: 2, temperature: 0 });
    const one = await post("/cache/match", { model: "tiny", prompt: text });
    // No seed, temperature 1: only the last prompt token is evaluated again; a seed makes it two.
    assert.equal(one.json.cached_tokens, one.json.prompt_tokens - 1);
    const seeded = await post("/cache/match", { model: "tiny", prompt: text, seed: 5 });
    assert.equal(seeded.json.cached_tokens, seeded.json.prompt_tokens - 2);
    const two = await post("/cache/match", { model: "tiny", prompt: [text, "zzz unrelated"] });
    assert.ok(two.json.prompt_tokens > one.json.prompt_tokens);
    assert.ok(two.json.cached_tokens >= one.json.cached_tokens);

    const created = await post("/responses", {
      model: "tiny",
      instructions: SYSTEM,
      input: "Sun in Rome?",
      max_output_tokens: 3,
    });
    assert.equal(created.status, 200);
    const follow = { model: "tiny", previous_response_id: created.json.id, input: "Why?", instructions: SYSTEM };
    const probe = await post("/cache/match", follow);
    assert.equal(probe.status, 200);
    assert.ok(probe.json.cached_tokens > created.json.usage.input_tokens / 2, JSON.stringify(probe.json));
    const answered = await post("/responses", { ...follow, max_output_tokens: 3 });
    assert.equal(answered.json.usage.input_tokens, probe.json.prompt_tokens);
    assert.equal(answered.json.usage.input_tokens_details.cached_tokens, probe.json.cached_tokens);
  });

  it("refuses as the request's own endpoint would, and needs a key", async () => {
    const unknown = await post("/cache/match", { model: "nope", messages: [{ role: "user", content: "hi" }] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, "model_not_found");
    const invalid = await post("/cache/match", { model: "tiny", messages: [], temperature: 9 });
    assert.equal(invalid.status, 400);
    const both = await post("/cache/match", { model: "tiny", messages: [{ role: "user", content: "a" }], prompt: "b" });
    assert.equal(both.status, 400);
    assert.equal(both.json.error.param, "messages");
    const tooLong = await post("/cache/match", { model: "tiny", prompt: "hello", max_tokens: 5000 });
    assert.equal(tooLong.status, 400);
    const missing = await post("/cache/match", { model: "tiny", previous_response_id: "resp_unknown", input: "x" });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.code, "previous_response_not_found");
    assert.equal((await post("/cache/match", { model: "tiny", prompt: "x" }, "wrong")).status, 401);
  });
});
