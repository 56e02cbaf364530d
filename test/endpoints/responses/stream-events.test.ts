// The Responses API stream as ResponseBuilder writes it, for output the tiny model cannot give:
// a reasoning item (a template's <think> block) followed by the message, then the finish.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ResponseBuilder } from "../../../src/endpoints/responses/response.js";
import { parseResponseRequest } from "../../../src/endpoints/responses/schema.js";

type Event = { type: string; sequence_number: number; output_index?: number; [k: string]: unknown };

describe("responses stream events", () => {
  it("reasoning, then text: each item opened with its part, closed before the next, in sequence", () => {
    const stored: unknown[] = [];
    const builder = new ResponseBuilder(parseResponseRequest({ model: "tiny", input: "Hi", stream: true }), {
      topLogprobs: null,
      onFinished: (response) => stored.push(response),
    });
    const events = [
      ...builder.open(0),
      ...(builder.reasoning(0, "let me ") as Event[]),
      ...(builder.reasoning(0, "think") as Event[]),
      ...(builder.text(0, "Hello", null) as Event[]),
      ...(builder.finish(0, "stop") as Event[]),
      builder.usage({ promptTokens: 5, completionTokens: 4, cachedPromptTokens: 0 }),
    ] as Event[];
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(2), [
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(types.slice(0, 2), ["response.created", "response.in_progress"]);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const added = events.filter((e) => e.type === "response.output_item.added");
    assert.deepEqual(
      added.map((e) => [e.output_index, (e.item as { type: string }).type]),
      [
        [0, "reasoning"],
        [1, "message"],
      ],
    );
    const parts = events.filter((e) => e.type === "response.content_part.added").map((e) => e.part);
    assert.deepEqual(parts, [
      { type: "reasoning_text", text: "" },
      { type: "output_text", text: "", annotations: [], logprobs: [] },
    ]);
    const completed = events.at(-1)!.response as { status: string; output: { type: string }[] };
    assert.equal(completed.status, "completed");
    assert.deepEqual(
      completed.output.map((o) => o.type),
      ["reasoning", "message"],
    );
    assert.equal(stored.length, 1);
  });
});
