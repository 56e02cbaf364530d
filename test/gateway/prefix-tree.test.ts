// The per-replica prefix tree: longest-prefix match, edge splits, LRU eviction within its bound.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrefixTree } from "../../src/gateway/prefix-tree.js";

describe("PrefixTree", () => {
  it("matches the longest stored prefix, splitting edges as prompts diverge", () => {
    const t = new PrefixTree(1000);
    assert.equal(t.match("hello"), 0);
    t.insert("system: be brief\nuser: hi");
    t.insert("system: be brief\nuser: bye");
    assert.equal(t.match("system: be brief\nuser: hi there"), "system: be brief\nuser: hi".length);
    assert.equal(t.match("system: be brief\nuser: b"), "system: be brief\nuser: b".length);
    assert.equal(t.match("system: be verbose"), "system: be ".length);
    assert.equal(t.match("other"), 0);
    assert.equal(t.size, "system: be brief\nuser: hi".length + "bye".length);
    t.insert("system: be brief\nuser: hi"); // again: nothing new
    assert.equal(t.size, "system: be brief\nuser: hi".length + "bye".length);
  });

  it("evicts the least recently used branches past its bound", () => {
    const t = new PrefixTree(100);
    const a = `A${"a".repeat(39)}`;
    const b = `B${"b".repeat(39)}`;
    const c = `C${"c".repeat(39)}`;
    t.insert(a);
    t.insert(b);
    t.insert(a); // a is now more recent than b
    t.insert(c); // 120 chars > 100: evicts down to 90, oldest first (b)
    assert.ok(t.size <= 90);
    assert.equal(t.match(b), 0);
    assert.equal(t.match(a), 40);
    assert.equal(t.match(c), 40);
  });

  it("evicts leaves first and keeps shared prefixes while their branches are used", () => {
    const t = new PrefixTree(60);
    const shared = "s".repeat(30);
    t.insert(`${shared}one-one-one`);
    t.insert(`${shared}two-two-two`);
    t.insert(`${shared}three-three`); // 63 chars: the oldest leaf goes
    assert.equal(t.match(`${shared}one-one-one`), 30);
    assert.equal(t.match(`${shared}three-three`), 41);
  });
});
