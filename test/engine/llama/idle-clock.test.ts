// Keep-alive's clock: a model is idle from the end of its last work, not from its last request.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdleClock } from "../../../src/engine/llama/idle-clock.js";

describe("IdleClock", () => {
  it("counts the keep-alive from the end of a request that ran longer than it", () => {
    const clock = new IdleClock(1000);
    clock.touch("m", 0); // the request arrives
    for (let t = 500; t <= 3000; t += 500) assert.equal(clock.expired("m", true, t), false, `busy at ${t} ms`);
    // It ended just after 3000 ms: a second later the model is still kept.
    assert.equal(clock.expired("m", false, 3500), false);
    assert.equal(clock.expired("m", false, 4000), false);
    assert.equal(clock.expired("m", false, 4001), true);
  });

  it("counts from the last request when nothing ran since, and from the load before any", () => {
    const clock = new IdleClock(1000);
    clock.touch("loaded", 0);
    clock.touch("asked", 0);
    clock.touch("asked", 800);
    assert.equal(clock.expired("loaded", false, 1001), true);
    assert.equal(clock.expired("asked", false, 1001), false);
    assert.equal(clock.expired("asked", false, 1801), true);
  });

  it("starts counting at the first tick for a model it was never told of", () => {
    const clock = new IdleClock(1000);
    assert.equal(clock.expired("m", false, 5000), false);
    assert.equal(clock.expired("m", false, 6001), true);
  });
});
