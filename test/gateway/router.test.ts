// Routing policies over fake replicas: cache_aware (threshold, balance limits), least_loaded,
// weighted round_robin, session affinity, exclusion and availability.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_ROUTING, type RoutingOptions } from "../../src/gateway/config.js";
import { ReplicaHealth } from "../../src/gateway/replica-health.js";
import { newTree, type Replica, Router } from "../../src/gateway/router.js";

function replicas(n: number, weights: number[] = [], cacheProbe = false): Replica[] {
  return Array.from({ length: n }, (_, i) => ({
    config: { name: `r${i}`, baseUrl: "http://x", model: "m", apiKey: null, weight: weights[i] ?? 1, cacheProbe },
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

  it("cache_aware with probes: exact shares override the trees; no probing for one candidate, a session or past the balance limits", () => {
    const rs = replicas(3, [], true);
    const router = new Router(rs, opts({ balanceAbsThreshold: 2 }));
    const prompt = `${sys(1)}<user>q0`;
    // r0's tree has the prompt, but r2's cache holds it (sent there directly, or before a restart).
    rs[0]!.tree.insert(prompt);
    const probed = new Map([
      [rs[0]!, 0],
      [rs[2]!, 0.8],
    ]);
    assert.deepEqual(router.probeTargets(null), rs);
    const c = router.choose(prompt, null, new Set(), probed)!;
    assert.equal(c.replica, rs[2]);
    assert.equal(c.reason, "cache");
    assert.equal(c.matchRatio, 0.8);
    // A replica whose probe failed (r1, absent) is estimated by its tree.
    rs[1]!.tree.insert(prompt);
    const partial = new Map([
      [rs[0]!, 0],
      [rs[2]!, 0.5],
    ]);
    assert.equal(router.choose(prompt, null, new Set(), partial)!.replica, rs[1]);
    // Below the threshold everywhere: the least loaded.
    rs[1]!.inFlight = 1;
    const low = router.choose("other", null, new Set(), new Map(rs.map((r) => [r, 0.1])))!;
    assert.equal(low.reason, "load");
    assert.deepEqual(router.probeTargets(null, new Set([rs[0]!, rs[1]!])), [], "one candidate left");
    router.choose("x", "user:bob");
    assert.deepEqual(router.probeTargets("user:bob"), [], "a session's replica");
    rs[0]!.inFlight = 10;
    assert.deepEqual(router.probeTargets(null), [], "past the balance limits");
    rs[0]!.inFlight = 0;
    assert.deepEqual(new Router(replicas(2), opts()).probeTargets(null), [], "no replica probes");
    assert.deepEqual(new Router(rs, opts({ policy: "least_loaded" })).probeTargets(null), []);
  });
});
