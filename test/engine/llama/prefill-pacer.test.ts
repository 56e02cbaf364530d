// The prefill pacer sizes prompt chunks from measured step costs so streams keep their pace.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrefillPacer } from "../../../src/engine/llama/prefill-pacer.js";
import { MIN_CHUNK, planPrefill, WHOLE_REMAINDER } from "../../../src/engine/llama/prefill-plan.js";

describe("PrefillPacer", () => {
  it("starts small, then allows what keeps a step within the slowdown", () => {
    const pacer = new PrefillPacer(2.5);
    assert.equal(pacer.allowance(128), 8);
    pacer.record(4, 0, 70); // a decode-only step of 4 streams: 70 ms
    pacer.record(4, 8, 70 + 8 * 15); // 8 prompt tokens cost 15 ms each on top
    // (2.5 - 1) × 70 ms / 15 ms per token = 7 tokens
    assert.equal(pacer.allowance(128), 7);
    assert.equal(pacer.allowance(5), 5, "never above the cap");
  });

  it("allows more as prompt tokens get cheaper, and at least one", () => {
    const pacer = new PrefillPacer(3);
    for (let i = 0; i < 50; i++) {
      pacer.record(2, 0, 10);
      pacer.record(2, 100, 10 + 100 * 0.05);
    }
    assert.equal(pacer.allowance(512), 400); // 2 × 10 / 0.05
    const slow = new PrefillPacer(1.1);
    slow.record(1, 0, 1);
    slow.record(0, 10, 1000); // alone: 100 ms a prompt token
    assert.equal(slow.allowance(128), 1);
  });

  it("refuses a slowdown below 1", () => {
    assert.throws(() => new PrefillPacer(0.5), RangeError);
  });
});

describe("planPrefill", () => {
  it("never leaves a prefilling sequence without tokens while the batch has room (issue 12)", () => {
    // The stall: allowance 1, two tokens left; a non-final chunk may not leave one token behind.
    assert.deepEqual(planPrefill([2], 100, 1), [2]);
    // Four prompts after a reused system prompt: all go whole into the next decode.
    assert.deepEqual(planPrefill([14, 9, 20, 3], 100, 1), [14, 9, 20, 3]);
    // Long remainders advance by the floor at least, each of them.
    assert.deepEqual(planPrefill([500, 800], 100, 1), [MIN_CHUNK, MIN_CHUNK]);
  });

  it("gives the rest of the allowance to the fewest tokens left first, and keeps two for the last chunk", () => {
    assert.deepEqual(planPrefill([WHOLE_REMAINDER, 300, 100], 512, 60), [WHOLE_REMAINDER, 2, 26]);
    // 100 − 99 would leave one token: the chunk stops at 98.
    assert.deepEqual(planPrefill([100], 512, 99), [98]);
    assert.deepEqual(planPrefill([100], 512, 100), [100]);
  });

  it("fills the batch in request order when nothing decodes (the allowance is the room)", () => {
    assert.deepEqual(planPrefill([400, 400], 512, 512), [400, 112]);
    assert.deepEqual(planPrefill([600, 10], 512, 512), [502, 10]);
  });

  it("stays within the batch: later sequences wait only when it is full", () => {
    assert.deepEqual(planPrefill([20, 20, 20], 45, 1), [20, 20, 5]);
    assert.deepEqual(planPrefill([20, 20, 20], 40, 1), [20, 20, 0]);
    assert.deepEqual(planPrefill([20, 20, 3], 42, 1), [20, 20, 1], "leaves two for the last chunk");
    assert.deepEqual(planPrefill([1], 10, 1), [1]);
  });
});
