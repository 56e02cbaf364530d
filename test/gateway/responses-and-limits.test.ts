// The gateway in front of two real lavash upstreams that store responses: the Responses API
// through the gateway equals the direct answer (JSON and named events), previous_response_id and
// GET/DELETE /v1/responses/{id} go to the replica that produced the id; and per-key limits
// (rpm, tpm from the upstream's usage) on a routed model, with per-key usage in /metrics.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import type { LavashServer } from "../../src/embed.js";
import { metric, startGateway, startUpstream } from "./helpers.js";

let a: LavashServer;
let b: LavashServer;
let gateway: LavashServer;

before(async () => {
  a = await startUpstream(0, { store: true });
  b = await startUpstream(0, { store: true });
  gateway = await startGateway(
    [
      {
        id: "chat",
        replicas: [
          { base_url: a.baseURL, model: "tiny", name: "a" },
          { base_url: b.baseURL, model: "tiny", name: "b" },
        ],
        routing: { policy: "round_robin" },
        health_check: { interval: 0 },
      },
    ],
    {
      config: {
        keys: [
          { name: "free", key: "k-free" },
          { name: "one-a-minute", key: "k-rpm", rpm: 1 },
          { name: "few-tokens", key: "k-tpm", tpm: 20 },
        ],
      },
    },
  );
});
after(async () => {
  await gateway?.close(5);
  await a?.close(5);
  await b?.close(5);
});

const greedy = { temperature: 0, max_output_tokens: 12 };

async function call(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      authorization: `Bearer ${init.key ?? "k-free"}`,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The named events of a Responses API stream as lavash writes them (LF, a blank line after each). */
function events(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
      const data = lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "null";
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

const outputText = (response: Record<string, unknown>) =>
  JSON.stringify((response.output as { content?: unknown }[]).map((item) => item.content ?? null));

describe("the Responses API through the gateway", () => {
  it("answers as the upstream does, the model renamed", async () => {
    const body = { input: "Say something short.", ...greedy };
    const direct = JSON.parse((await call(a.baseURL, "/responses", { body: { ...body, model: "tiny" } })).text);
    const res = await call(gateway.baseURL, "/responses", { body: { ...body, model: "chat" } });
    assert.equal(res.status, 200, res.text);
    const got = JSON.parse(res.text);
    assert.equal(got.model, "chat");
    assert.equal(got.object, "response");
    assert.equal(got.status, direct.status);
    assert.equal(outputText(got), outputText(direct));
    assert.equal(got.usage.input_tokens, direct.usage.input_tokens);
    assert.equal(got.usage.output_tokens, direct.usage.output_tokens);
  });

  it("streams the same named events, no [DONE], ending with the terminal event", async () => {
    const body = { input: "Stream something short.", ...greedy, stream: true };
    const direct = events((await call(a.baseURL, "/responses", { body: { ...body, model: "tiny" } })).text);
    const res = await call(gateway.baseURL, "/responses", { body: { ...body, model: "chat" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.ok(!res.text.includes("[DONE]"));
    const got = events(res.text);
    assert.deepEqual(
      got.map((e) => e.event),
      direct.map((e) => e.event),
    );
    assert.deepEqual(
      got.map((e) => [e.data.type, e.data.sequence_number, e.data.delta ?? null]),
      direct.map((e) => [e.data.type, e.data.sequence_number, e.data.delta ?? null]),
    );
    const last = got.at(-1)!;
    assert.equal(last.event, "response.incomplete", "max_output_tokens ended it, as direct");
    assert.equal((last.data.response as { model: string }).model, "chat");
    // The SDK reads it as a stream from OpenAI.
    const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: "k-free", maxRetries: 0 });
    let completed: OpenAI.Responses.Response | null = null;
    for await (const ev of await client.responses.create({ ...body, model: "chat", stream: true }))
      if (ev.type === "response.incomplete") completed = ev.response;
    assert.equal(completed?.model, "chat");
    assert.equal(completed?.status, "incomplete");
  });

  it("continues previous_response_id on the replica that stored it; GET and DELETE reach it too", async () => {
    const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: "k-free", maxRetries: 0 });
    const first = await client.responses.create({ model: "chat", input: "Remember this.", ...greedy }).withResponse();
    const replica = first.response.headers.get("x-lavash-replica");
    assert.ok(replica === "a" || replica === "b");
    const id = first.data.id;
    // Round robin would send the next ones elsewhere: the pin wins, stream or not.
    for (const stream of [false, true, false]) {
      const next = await call(gateway.baseURL, "/responses", {
        body: { model: "chat", input: "And then?", previous_response_id: id, ...greedy, stream },
      });
      assert.equal(next.status, 200, next.text);
      assert.equal(next.headers.get("x-lavash-replica"), replica);
    }
    const continued = await client.responses.create({
      model: "chat",
      input: "And then?",
      previous_response_id: id,
      ...greedy,
    });
    assert.equal(continued.previous_response_id, id);
    assert.ok((continued.usage?.input_tokens ?? 0) > (first.data.usage?.input_tokens ?? 0), "the history was there");

    const got = await call(gateway.baseURL, `/responses/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("x-lavash-replica"), replica);
    assert.equal(JSON.parse(got.text).id, id);
    assert.equal(JSON.parse(got.text).model, "chat");
    const items = await client.responses.inputItems.list(id);
    assert.equal(items.data.length, 1);
    const deleted = await call(gateway.baseURL, `/responses/${id}`, { method: "DELETE" });
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(JSON.parse(deleted.text), { id, object: "response", deleted: true });
    // Forgotten by the gateway and deleted upstream: OpenAI's 404.
    assert.equal((await call(gateway.baseURL, `/responses/${id}`)).status, 404);
    // An id the gateway never saw is left to the local routes (this gateway stores nothing).
    assert.equal((await call(gateway.baseURL, "/responses/resp_unknown")).status, 404);
  });
});

describe("per-key limits on a routed model", () => {
  it("refuses the request past the key's rpm with 429 and Retry-After, before any upstream sees it", async () => {
    const body = { model: "chat", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, seed: 1 };
    const ok = await call(gateway.baseURL, "/chat/completions", { body, key: "k-rpm" });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers.get("x-ratelimit-limit-requests"), "1");
    assert.equal(ok.headers.get("x-ratelimit-remaining-requests"), "0");
    const refused = await call(gateway.baseURL, "/chat/completions", { body, key: "k-rpm" });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("x-lavash-replica"), null);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 30 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(JSON.parse(refused.text).error.code, "rate_limit_exceeded");
    // Another key is not affected.
    assert.equal((await call(gateway.baseURL, "/chat/completions", { body })).status, 200);
  });

  it("counts the upstream's usage against the key's tpm (streamed Responses API), then refuses", async () => {
    const first = await call(gateway.baseURL, "/responses", {
      body: { model: "chat", input: "Tell me a long story.", temperature: 0, max_output_tokens: 24, stream: true },
      key: "k-tpm",
    });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "20");
    const usage = (events(first.text).at(-1)!.data.response as { usage: { total_tokens: number } }).usage;
    assert.ok(usage.total_tokens > 20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await call(gateway.baseURL, "/responses", {
      body: { model: "chat", input: "More.", ...greedy },
      key: "k-tpm",
    });
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.text).error.type, "tokens");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  });

  it("shows each key's usage in /metrics by name, never the key", async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(metric(text, "lavash_key_requests_total", { key: "one-a-minute" }), 1);
    assert.equal(metric(text, "lavash_key_rate_limited_total", { key: "one-a-minute", limit: "requests" }), 1);
    assert.equal(metric(text, "lavash_key_rate_limited_total", { key: "few-tokens", limit: "tokens" }), 1);
    assert.ok((metric(text, "lavash_key_completion_tokens_total", { key: "few-tokens" }) ?? 0) >= 20);
    assert.ok((metric(text, "lavash_key_prompt_tokens_total", { key: "free" }) ?? 0) > 0);
    assert.ok((metric(text, "lavash_key_completion_tokens_total", { key: "one-a-minute" }) ?? 0) > 0);
    for (const key of ["k-free", "k-rpm", "k-tpm"]) assert.ok(!text.includes(key));
  });
});
