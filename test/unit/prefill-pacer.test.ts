// The prefill pacer sizes prompt chunks from measured step costs so streams keep their pace.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrefillPacer } from "../../src/engine/llama/prefill-pacer.js";

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
