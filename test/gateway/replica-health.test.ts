// The replica health state machine: ejection after consecutive failures, cooldown, one half-open
// trial, re-admission; 429 throttling.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplicaHealth } from "../../src/gateway/replica-health.js";

describe("ReplicaHealth", () => {
  it("ejects after the threshold, lets one trial through after the cooldown, re-admits on success", () => {
    let now = 0;
    const h = new ReplicaHealth({ failureThreshold: 3, cooldownMs: 1000 }, () => now);
    h.failure();
    h.failure();
    assert.equal(h.state, "healthy");
    h.success(); // consecutive only
    h.failure();
    h.failure();
    assert.equal(h.available(), true);
    h.failure();
    assert.equal(h.state, "ejected");
    assert.equal(h.available(), false);
    now = 999;
    assert.equal(h.available(), false);
    now = 1000;
    assert.equal(h.state, "half_open");
    assert.equal(h.available(), true);
    h.begin(); // the trial
    assert.equal(h.available(), false, "one trial at a time");
    h.failure(); // the trial failed: ejected again, for another cooldown
    assert.equal(h.state, "ejected");
    now = 2000;
    h.begin();
    h.success();
    assert.equal(h.state, "healthy");
    assert.equal(h.consecutiveFailures, 0);
  });

  it("a released trial lets the next one through", () => {
    let now = 0;
    const h = new ReplicaHealth({ failureThreshold: 1, cooldownMs: 10 }, () => now);
    h.failure();
    now = 10;
    h.begin();
    assert.equal(h.available(), false);
    h.release();
    assert.equal(h.available(), true);
  });

  it("429 throttles until Retry-After without counting as a failure", () => {
    let now = 0;
    const h = new ReplicaHealth({ failureThreshold: 1, cooldownMs: 10 }, () => now);
    h.throttle(500);
    assert.equal(h.available(), false);
    assert.equal(h.state, "healthy");
    now = 500;
    assert.equal(h.available(), true);
  });
});
