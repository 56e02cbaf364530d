import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mean, median, percentile, present } from "../../src/bench/stats.js";

describe("bench stats", () => {
  it("interpolates between closest ranks", () => {
    assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
    assert.equal(percentile([10, 20, 30, 40, 50], 90), 46);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([3, 1, 2], 0), 1);
    assert.equal(percentile([3, 1, 2], 100), 3);
  });

  it("does not reorder its input", () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it("gives null for an empty sample and ignores non-finite values", () => {
    assert.equal(percentile([], 50), null);
    assert.equal(median([NaN, Infinity]), null);
    assert.equal(median([1, NaN, 3]), 2);
    assert.equal(mean([]), null);
    assert.equal(mean([1, 2, 6]), 3);
  });

  it("rejects percentiles outside 0..100", () => {
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], -1), RangeError);
  });

  it("drops missing values", () => {
    assert.deepEqual(present([1, null, undefined, 2, NaN]), [1, 2]);
  });
});
