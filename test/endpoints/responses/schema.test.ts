// POST /v1/responses parsing and mapping, without a model: what is accepted, what is refused
// (with the parameter named), and how items become the engine's chat messages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../../src/endpoints/shared/errors.js";
import { conversationHistory, engineMessages, storedInputItems } from "../../../src/endpoints/responses/input-items.js";
import { responsesGeneration, toolCalling } from "../../../src/endpoints/responses/mapping.js";
import { inputItemsPage } from "../../../src/endpoints/responses/route.js";
import { parseResponseRequest } from "../../../src/endpoints/responses/schema.js";
import type { ResponseStore, StoredResponse } from "../../../src/storage/response-store.js";

const limits = { maxTokensEvaluated: 200_000 };

function refused(body: Record<string, unknown>, param: string, code?: string): ApiError {
  let error: unknown;
  try {
    const parsed = parseResponseRequest({ model: "tiny", input: "Hi", ...body });
    responsesGeneration(parsed, [], storedInputItems(parsed.input), limits);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ApiError, `expected a 400 for ${JSON.stringify(body)}`);
  assert.equal(error.status, 400);
  assert.equal(error.param, param, error.message);
  if (code !== undefined) assert.equal(error.code, code);
  return error;
}

function generation(body: Record<string, unknown>) {
  const parsed = parseResponseRequest({ model: "tiny", ...body });
  return responsesGeneration(parsed, [], storedInputItems(parsed.input), limits);
}

describe("responses request: accepted", () => {
  it("a string input is one user message; instructions open the conversation as a system message", () => {
    const g = generation({ input: "Hi", instructions: "Be brief.", max_output_tokens: 7, seed: 3 });
    const r = g.plan.requests[0]!;
    assert.deepEqual(r.prompt, {
      kind: "chat",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ],
      separateReasoning: true,
    });
    assert.equal(r.maxTokens, 7);
    assert.equal(r.sampling.seed, 3);
    assert.equal(g.plan.stream, false);
  });

  it("items: messages without type, parts, function calls joined to the assistant turn, their outputs as tool turns", () => {
    const g = generation({
      input: [
        {
          role: "developer",
          content: [
            { type: "input_text", text: "a" },
            { type: "input_text", text: "b" },
          ],
        },
        { role: "user", content: "q" },
        { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "hmm" }] },
        {
          type: "message",
          role: "assistant",
          id: "msg_1",
          status: "completed",
          content: [{ type: "output_text", text: "let me look", annotations: [] }],
        },
        { type: "function_call", call_id: "call_1", name: "f", arguments: "{}" },
        { type: "function_call", call_id: "call_2", name: "g", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "one" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "two" }] },
      ],
    });
    const prompt = g.plan.requests[0]!.prompt;
    assert.equal(prompt.kind, "chat");
    assert.deepEqual(prompt.kind === "chat" ? prompt.messages : null, [
      { role: "developer", content: "a\nb" },
      { role: "user", content: "q" },
      {
        role: "assistant",
        content: "let me look",
        toolCalls: [
          { id: "call_1", name: "f", arguments: "{}" },
          { id: "call_2", name: "g", arguments: "{}" },
        ],
      },
      { role: "tool", content: "one", toolCallId: "call_1" },
      { role: "tool", content: "two", toolCallId: "call_2" },
    ]);
  });

  it("function tools are strict unless strict: false; tool_choice maps as chat's", () => {
    const body = parseResponseRequest({
      model: "tiny",
      input: "Hi",
      tools: [
        { type: "function", name: "a", parameters: { type: "object" } },
        { type: "function", name: "b", strict: false },
      ],
      tool_choice: { type: "function", name: "b" },
      parallel_tool_calls: false,
    });
    const tools = toolCalling(body);
    assert.deepEqual(tools, {
      tools: [
        { name: "a", parameters: { type: "object" }, strict: true },
        { name: "b", strict: false },
      ],
      toolChoice: { name: "b" },
      parallel: false,
    });
    assert.equal(toolCalling({ ...body, tool_choice: "none" }), undefined);
  });

  it("text.format json_schema is the output constraint; include logprobs asks for top_logprobs", () => {
    const g = generation({
      input: "Hi",
      text: { format: { type: "json_schema", name: "x", schema: { type: "object" }, strict: true } },
      include: ["message.output_text.logprobs"],
      top_logprobs: 2,
    });
    assert.deepEqual(g.plan.requests[0]!.outputConstraint, {
      kind: "json_schema",
      schema: { type: "object" },
      strict: true,
    });
    assert.equal(g.topLogprobs, 2);
    assert.equal(g.plan.requests[0]!.logprobs, 2);
  });

  it("no-op values of refused parameters pass: background false, truncation disabled, empty reasoning, service_tier auto", () => {
    generation({
      input: "Hi",
      background: false,
      truncation: "disabled",
      reasoning: {},
      service_tier: "auto",
      store: false,
      metadata: { a: "b" },
      user: "u",
      context_management: [],
      prompt_cache_key: "k",
    });
  });
});

describe("responses request: refused, naming the parameter", () => {
  it("built-in and custom tools", () => {
    const e = refused({ tools: [{ type: "web_search" }] }, "tools[0].type", "unsupported_parameter");
    assert.match(e.message, /web_search/);
    refused({ tools: [{ type: "custom", name: "x" }] }, "tools[0].type");
    refused({ tools: [{ type: "mcp", server_label: "x" }] }, "tools[0].type");
  });

  it("non-text content parts and other item types", () => {
    const e = refused(
      { input: [{ role: "user", content: [{ type: "input_image", image_url: "http://x" }] }] },
      "input[0].content[0].type",
    );
    assert.match(e.message, /input_image/);
    refused({ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0].type");
    refused({ input: [{ type: "computer_call_output", call_id: "c" }] }, "input[0].type");
  });

  it("parameters lavash cannot honour", () => {
    refused({ background: true }, "background", "unsupported_parameter");
    refused({ conversation: "conv_1" }, "conversation");
    refused({ prompt: { id: "pmpt_1" } }, "prompt");
    refused({ truncation: "auto" }, "truncation");
    refused({ reasoning: { effort: "high" } }, "reasoning");
    refused({ include: ["reasoning.encrypted_content"] }, "include");
    refused({ service_tier: "flex" }, "service_tier");
    refused({ tool_choice: { type: "web_search_preview" }, tools: [] }, "tool_choice");
    refused({ text: { verbosity: "low" } }, "text");
  });

  it("OpenAI's cross-field rules", () => {
    refused({ tool_choice: "required" }, "tool_choice");
    refused({ tools: [{ type: "function", name: "a" }], tool_choice: { type: "function", name: "b" } }, "tool_choice");
    refused({ stream_options: { include_obfuscation: false } }, "stream_options");
    refused({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }, "metadata");
    refused({ unknown_field: 1 }, "unknown_field", "unknown_parameter");
  });

  it("text.format with tool_choice auto, its with tools, an output without its call, an empty conversation", () => {
    refused({ tools: [{ type: "function", name: "a" }], text: { format: { type: "json_object" } } }, "text.format");
    refused({ its: { method: "best_of_n", n: 2 }, tools: [{ type: "function", name: "a" }] }, "tools");
    refused({ input: [{ type: "function_call_output", call_id: "call_9", output: "x" }] }, "input[0]");
    refused({ input: [] }, "input", "missing_required_parameter");
  });
});

describe("stored conversations", () => {
  function memoryStore(records: StoredResponse[]): ResponseStore {
    const byId = new Map(records.map((r) => [r.id, r]));
    return {
      path: ":memory:",
      save: (r) => void byId.set(r.id, r),
      get: (id) => byId.get(id) ?? null,
      delete: (id) => byId.delete(id),
      count: () => byId.size,
      close: () => {},
    };
  }
  const item = (id: string, text: string) => ({
    type: "message",
    id,
    role: "user",
    content: [{ type: "input_text", text }],
    status: "completed",
  });
  const answer = (id: string, text: string) => ({
    type: "message",
    id,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  });
  const stored = (id: string, prev: string | null, q: string, a: string): StoredResponse => ({
    id,
    createdAt: 1,
    previousResponseId: prev,
    response: { id, output: [answer(`msg_a${id}`, a)], instructions: "not carried over" },
    inputItems: [item(`msg_q${id}`, q)],
  });

  it("a chain is each response's input then output, oldest first, without instructions", () => {
    const store = memoryStore([stored("r1", null, "q1", "a1"), stored("r2", "r1", "q2", "a2")]);
    const history = conversationHistory(store, "r2");
    assert.deepEqual(engineMessages(history), [
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
      { role: "user", content: "q2" },
      { role: "assistant", content: "a2" },
    ]);
  });

  it("an unknown id, a broken chain and no store are 400s naming previous_response_id", () => {
    const store = memoryStore([stored("r2", "gone", "q2", "a2")]);
    for (const [s, id, pattern] of [
      [store, "nope", /Previous response with id 'nope' not found\./],
      [store, "r2", /'gone' it continues is no longer stored/],
      [null, "r2", /--no-store/],
    ] as const) {
      assert.throws(
        () => conversationHistory(s, id),
        (e: unknown) =>
          e instanceof ApiError &&
          e.status === 400 &&
          e.param === "previous_response_id" &&
          e.code === "previous_response_not_found" &&
          pattern.test(e.message),
      );
    }
  });

  it("input_items pages: desc by default, limit, after and before cursors", () => {
    const items = storedInputItems(
      ["a", "b", "c", "d", "e"].map((t, i) => ({
        type: "message" as const,
        id: `m${i}`,
        role: "user" as const,
        content: t,
      })),
    );
    const ids = (page: { data: { id: string }[] }) => page.data.map((i) => i.id);
    assert.deepEqual(ids(inputItemsPage(items, {})), ["m4", "m3", "m2", "m1", "m0"]);
    const first = inputItemsPage(items, { order: "asc", limit: 2 });
    assert.deepEqual([ids(first), first.first_id, first.last_id, first.has_more], [["m0", "m1"], "m0", "m1", true]);
    const next = inputItemsPage(items, { order: "asc", limit: 2, after: "m1" });
    assert.deepEqual([ids(next), next.has_more], [["m2", "m3"], true]);
    assert.deepEqual(ids(inputItemsPage(items, { order: "asc", before: "m3" })), ["m0", "m1", "m2"]);
    assert.deepEqual(ids(inputItemsPage(items, { after: "m3" })), ["m2", "m1", "m0"]);
    assert.throws(
      () => inputItemsPage(items, { after: "zz" }),
      (e: unknown) => e instanceof ApiError && e.param === "after",
    );
  });
});
