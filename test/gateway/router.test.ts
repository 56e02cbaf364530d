// Routing policies over fake replicas: cache_aware (threshold, balance limits), least_loaded,
// weighted round_robin, session affinity, exclusion and availability.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_ROUTING, type RoutingOptions } from "../../src/gateway/config.js";
import { ReplicaHealth } from "../../src/gateway/replica-health.js";
import { newTree, type Replica, Router } from "../../src/gateway/router.js";

function replicas(n: number, weights: number[] = []): Replica[] {
  return Array.from({ length: n }, (_, i) => ({
    config: { name: `r${i}`, baseUrl: "http://x", model: "m", apiKey: null, weight: weights[i] ?? 1 },
    health: new ReplicaHealth({ failureThreshold: 1, cooldownMs: 60_000 }),
    tree: newTree(DEFAULT_ROUTING),
    inFlight: 0,
  }));
}
const opts = (o: Partial<RoutingOptions> = {}): RoutingOptions => ({ ...DEFAULT_ROUTING, ...o });
const sys = (t: number) => `<system>${`tenant ${t} `.repeat(40)}\n`;

describe("Router", () => {
  it("cache_aware: a shared prefix goes back to the replica that has it; new prefixes spread by load", () => {
    const rs = replicas(3);
    const router = new Router(rs, opts());
    const first = new Map<number, Replica>();
    for (let t = 0; t < 3; t++) {
      const c = router.choose(`${sys(t)}<user>q0`, null)!;
      assert.equal(c.reason, "load");
      first.set(t, c.replica);
      c.replica.inFlight++; // still running
    }
    assert.equal(new Set(first.values()).size, 3, "three new tenants on three idle replicas");
    for (let t = 0; t < 3; t++)
      for (let q = 1; q < 4; q++) {
        const c = router.choose(`${sys(t)}<user>q${q}`, null)!;
        assert.equal(c.replica, first.get(t));
        assert.equal(c.reason, "cache");
        assert.ok(c.matchRatio > 0.9);
      }
  });

  it("cache_aware: below the threshold the least loaded wins", () => {
    const rs = replicas(2);
    const router = new Router(rs, opts({ cacheThreshold: 0.9 }));
    const a = router.choose("abcdefghij", null)!;
    a.replica.inFlight = 5;
    const b = router.choose("abcdeXXXXX", null)!; // 50% match on a, below 0.9
    assert.notEqual(b.replica, a.replica);
    assert.equal(b.reason, "load");
  });

  it("cache_aware: past both balance limits, pure load balancing", () => {
    const rs = replicas(2);
    const router = new Router(rs, opts({ balanceAbsThreshold: 4, balanceRelThreshold: 1.5 }));
    const a = router.choose("prefix-prefix-prefix", null)!;
    a.replica.inFlight = 5; // 5 - 0 > 4 and 5 > 0 * 1.5
    const c = router.choose("prefix-prefix-prefix more", null)!;
    assert.notEqual(c.replica, a.replica);
    assert.equal(c.reason, "balance");
    // Absolute excess alone is not enough: 10 vs 7 is not 1.5x.
    a.replica.inFlight = 10;
    c.replica.inFlight = 7;
    assert.equal(router.choose("prefix-prefix-prefix again", null)!.reason, "cache");
  });

  it("least_loaded: fewest requests per weight, ties rotate", () => {
    const rs = replicas(3, [1, 2, 1]);
    const router = new Router(rs, opts({ policy: "least_loaded" }));
    const picked = [0, 1, 2].map(() => router.choose("x", null)!.replica.config.name);
    assert.deepEqual(new Set(picked).size, 3);
    rs[0]!.inFlight = 2;
    rs[1]!.inFlight = 2; // 1 per unit of weight
    rs[2]!.inFlight = 2;
    assert.equal(router.choose("x", null)!.replica.config.name, "r1");
  });

  it("round_robin: smooth weighted", () => {
    const rs = replicas(2, [2, 1]);
    const router = new Router(rs, opts({ policy: "round_robin" }));
    const names = Array.from({ length: 6 }, () => router.choose("x", null)!.replica.config.name);
    assert.deepEqual(names, ["r0", "r1", "r0", "r0", "r1", "r0"]);
  });

  it("a session stays on its replica while it is available; exclusion and ejection are respected", () => {
    const rs = replicas(3);
    const router = new Router(rs, opts({ policy: "round_robin" }));
    const first = router.choose("x", "user:alice")!;
    for (let i = 0; i < 4; i++) {
      const c = router.choose(`y${i}`, "user:alice")!;
      assert.equal(c.replica, first.replica);
      assert.equal(c.reason, "affinity");
    }
    const moved = router.choose("x", "user:alice", new Set([first.replica]))!;
    assert.notEqual(moved.replica, first.replica);
    assert.equal(router.choose("x", "user:alice")!.replica, moved.replica, "re-pinned");
    for (const r of rs) r.health.failure();
    assert.equal(router.choose("x", null), null, "every replica ejected");
  });
});
