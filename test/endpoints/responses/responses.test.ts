// POST /v1/responses and the stored responses against a real server (tiny model, random
// weights), through the official client v6 (`openai`) and v7 (`openai-v7`).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type OpenAI from "openai";
import { openResponseStore, type ResponseStore } from "../../../src/storage/response-store.js";
import { listenTestApp, startTestServer, type TestServer } from "../../helpers/server.js";

type Client = Pick<OpenAI, "responses">;

const dir = mkdtempSync(join(tmpdir(), "lavash-responses-"));
const dbPath = join(dir, "responses.sqlite");
let server: TestServer;
let store: ResponseStore;
let v6: Client;
let v7: Client;

before(async () => {
  store = openResponseStore(dbPath);
  server = await startTestServer({}, { responseStore: store });
  v6 = server.client;
  const OpenAIV7 = (await import("openai-v7")).default;
  v7 = new OpenAIV7({
    baseURL: server.baseURL,
    apiKey: "test-key",
    maxRetries: 0,
    timeout: 120_000,
  }) as unknown as Client;
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Request bodies with lavash's extensions (seed) and its own checks, typed for the client. */
const plain = (p: object) => p as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming;
const streamed = (p: object) => p as unknown as OpenAI.Responses.ResponseCreateParamsStreaming;

/** A function whose arguments the random-weight model finishes quickly. */
const tool = {
  type: "function" as const,
  name: "lookup",
  description: "Look a word up.",
  parameters: {
    type: "object",
    properties: { word: { type: "string", maxLength: 4 } },
    required: ["word"],
    additionalProperties: false,
  },
  strict: true,
};

/** An error body, or what DELETE answers. */
interface WireBody {
  error: { message: string; type: string; param: string | null; code: string | null };
  [key: string]: unknown;
}

async function status(path: string, init: RequestInit = {}): Promise<{ status: number; body: WireBody }> {
  const res = await fetch(`${server.baseURL}${path}`, {
    ...init,
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, body: (await res.json()) as WireBody };
}

describe("POST /v1/responses", () => {
  for (const [name, client] of [
    ["v6", () => v6],
    ["v7", () => v7],
  ] as const) {
    it(`${name}: a string input with instructions; max_output_tokens makes it incomplete; stored and retrievable`, async () => {
      const r = await client().responses.create(
        plain({
          model: "tiny",
          input: "Hello",
          instructions: "Answer briefly.",
          max_output_tokens: 6,
          seed: 1,
          metadata: { test: name },
        }),
      );
      assert.match(r.id, /^resp_/);
      assert.equal(r.object, "response");
      assert.equal(r.status, "incomplete");
      assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
      assert.equal(r.instructions, "Answer briefly.");
      assert.deepEqual(r.metadata, { test: name });
      assert.equal((r as unknown as { store: boolean }).store, true);
      assert.equal(r.error, null);
      const message = r.output[0]!;
      assert.equal(message.type, "message");
      assert.ok(message.type === "message" && /^msg_/.test(message.id) && message.status === "incomplete");
      assert.equal(r.output_text.length > 0, true);
      assert.equal(r.usage?.output_tokens, 6);
      assert.equal(r.usage?.total_tokens, r.usage!.input_tokens + 6);
      const got = await client().responses.retrieve(r.id);
      assert.deepEqual(got.output, r.output);
      assert.equal(got.output_text, r.output_text);
    });

    it(`${name}: streams the semantic events in order, sequence_number from 0, no [DONE] needed`, async () => {
      const stream = client().responses.stream(
        streamed({ model: "tiny", input: [{ role: "user", content: "Hi" }], max_output_tokens: 4, seed: 2 }),
      );
      const types: string[] = [];
      const sequence: number[] = [];
      let deltas = "";
      for await (const event of stream) {
        types.push(event.type);
        sequence.push(event.sequence_number);
        if (event.type === "response.output_text.delta") deltas += event.delta;
      }
      const final = await stream.finalResponse();
      assert.deepEqual(
        sequence,
        types.map((_, i) => i),
      );
      const compact = types.filter((t, i) => t !== "response.output_text.delta" || types[i - 1] !== t);
      assert.deepEqual(compact, [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",
      ]);
      assert.equal(final.output_text, deltas);
      assert.equal(final.status, "incomplete");
      // Stored when the stream ended.
      assert.equal((await client().responses.retrieve(final.id)).output_text, deltas);
    });
  }

  it("a forced function call, its output sent back, and the continuation reuses the cached prompt", async () => {
    const first = await v6.responses.create(
      plain({
        model: "tiny",
        input: "Look up 'cat'.",
        tools: [tool],
        tool_choice: { type: "function", name: "lookup" },
        parallel_tool_calls: false,
        seed: 3,
        max_output_tokens: 60,
      }),
    );
    assert.equal(first.status, "completed");
    const calls = first.output.filter((i) => i.type === "function_call");
    assert.equal(calls.length, 1);
    const call = calls[0]!;
    assert.ok(call.type === "function_call");
    assert.match(call.id ?? "", /^fc_/);
    assert.match(call.call_id, /^call_/);
    assert.equal(call.name, "lookup");
    assert.equal(typeof (JSON.parse(call.arguments) as { word: unknown }).word, "string");
    assert.deepEqual(
      first.tools,
      [{ ...tool }].map((t) => ({ ...t })),
    );

    const second = await v6.responses.create(
      plain({
        model: "tiny",
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: "a small animal" }],
        tools: [tool],
        tool_choice: "none",
        max_output_tokens: 3,
        seed: 3,
      }),
    );
    assert.equal(second.previous_response_id, first.id);
    assert.equal(second.instructions, null);
    assert.ok((second.usage?.input_tokens_details.cached_tokens ?? 0) > 0, JSON.stringify(second.usage));
    const items = await v6.responses.inputItems.list(second.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0]!.type, "function_call_output");
  });

  it("tool_choice required streams a function call's events", async () => {
    const stream = await v7.responses.create(
      streamed({
        model: "tiny",
        input: "Look something up.",
        tools: [tool],
        tool_choice: "required",
        parallel_tool_calls: false,
        seed: 4,
        max_output_tokens: 60,
        stream: true,
        store: false,
      }),
    );
    const types: string[] = [];
    let args = "";
    let done = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.function_call_arguments.delta") args += event.delta;
      if (event.type === "response.function_call_arguments.done") done = event.arguments;
    }
    const at = types.indexOf("response.output_item.added");
    assert.ok(at > 0);
    assert.ok(types.includes("response.function_call_arguments.delta"));
    assert.equal(args, done);
    assert.deepEqual(types.slice(-3), [
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("text.format json_schema gives JSON that follows the schema", async () => {
    const r = await v6.responses.create(
      plain({
        model: "tiny",
        input: "Name a colour.",
        text: {
          format: {
            type: "json_schema",
            name: "colour",
            strict: true,
            schema: {
              type: "object",
              properties: { name: { type: "string", maxLength: 5 } },
              required: ["name"],
              additionalProperties: false,
            },
          },
        },
        seed: 5,
        max_output_tokens: 40,
        store: false,
      }),
    );
    assert.equal(r.status, "completed");
    assert.equal(typeof (JSON.parse(r.output_text) as { name: unknown }).name, "string");
    // store: false is not kept.
    assert.equal((await status(`/responses/${r.id}`)).status, 404);
  });

  it("delete, then 404s in OpenAI's shape", async () => {
    const r = await v6.responses.create(plain({ model: "tiny", input: "x", max_output_tokens: 1, seed: 6 }));
    const deleted = await status(`/responses/${r.id}`, { method: "DELETE" });
    assert.deepEqual(deleted, { status: 200, body: { id: r.id, object: "response", deleted: true } });
    for (const [path, method] of [
      [`/responses/${r.id}`, "GET"],
      [`/responses/${r.id}`, "DELETE"],
      [`/responses/${r.id}/input_items`, "GET"],
    ] as const) {
      const res = await status(path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.message, `Response with id '${r.id}' not found.`);
      assert.equal(res.body.error.type, "invalid_request_error");
    }
    await assert.rejects(v7.responses.retrieve(r.id), (e: { status?: number }) => e.status === 404);
    await assert.rejects(
      v6.responses.create(plain({ model: "tiny", input: "x", previous_response_id: r.id })),
      (e: { status?: number; param?: string; code?: string }) =>
        e.status === 400 && e.param === "previous_response_id" && e.code === "previous_response_not_found",
    );
  });

  it("refused parameters are 400s naming them", async () => {
    for (const [body, param] of [
      [{ tools: [{ type: "web_search" }] }, "tools[0].type"],
      [{ background: true }, "background"],
      [
        { input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x/y.png" }] }] },
        "input[0].content[0].type",
      ],
      [{ truncation: "auto" }, "truncation"],
      [{ include: ["reasoning.encrypted_content"] }, "include"],
    ] as const) {
      const res = await status("/responses", {
        method: "POST",
        body: JSON.stringify({ model: "tiny", input: "x", ...body }),
      });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.param, param);
    }
  });
});

describe("stored responses across restarts and --no-store", () => {
  it("a second server on the same database file serves a stored response", async () => {
    const r = await v6.responses.create(plain({ model: "tiny", input: "keep me", max_output_tokens: 2, seed: 7 }));
    // A second app over the same engine, with its own store opened on the same file (a restart).
    const second = openResponseStore(dbPath);
    const app = await listenTestApp(server.engine, { responseStore: second });
    try {
      const got = await app.client.responses.retrieve(r.id);
      assert.equal(got.output_text, r.output_text);
      const items = await app.client.responses.inputItems.list(r.id, { order: "asc" });
      assert.equal(items.data[0]!.type, "message");
    } finally {
      await app.app.close();
    }
  });

  it("--no-store: answers, keeps nothing, and says so", async () => {
    const app = await listenTestApp(server.engine, { responseStore: null });
    try {
      const r = await app.client.responses.create(plain({ model: "tiny", input: "x", max_output_tokens: 1, seed: 8 }));
      await assert.rejects(
        app.client.responses.retrieve(r.id),
        (e: { status?: number; message?: string }) => e.status === 404 && /--no-store/.test(e.message ?? ""),
      );
      await assert.rejects(
        app.client.responses.create(plain({ model: "tiny", input: "x", previous_response_id: r.id })),
        (e: { status?: number; message?: string }) => e.status === 400 && /--no-store/.test(e.message ?? ""),
      );
    } finally {
      await app.app.close();
    }
  });
});
