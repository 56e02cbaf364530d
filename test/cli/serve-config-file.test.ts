// `lavash serve --config FILE`: settings and per-model options from YAML or JSON, flags winning.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseServeArgs, type ServeConfig } from "../../src/cli/serve.js";

const dir = mkdtempSync(join(tmpdir(), "lavash-config-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const parse = (args: string[]) => parseServeArgs(args) as ServeConfig;

describe("serve --config", () => {
  it("reads flags and per-model settings from YAML; the command line wins", () => {
    const path = file(
      "a.yaml",
      [
        "port: 9000",
        "ctx_size: 2048",
        "keep-alive: 30",
        "admin-key: [k1, k2]",
        "models:",
        "  - id: big",
        "    source: builtin:tiny",
        "    ctx-size: 8192",
        "    parallel: 2",
        "  - small=builtin:tiny",
      ].join("\n"),
    );
    const c = parse(["--config", path, "--port", "9100", "--model", "x=builtin:tiny"]);
    assert.equal(c.port, 9100);
    assert.equal(c.contextSize, 2048);
    assert.equal(c.keepAlive, 30);
    assert.deepEqual(c.http.auth.adminKeys, ["k1", "k2"]);
    assert.deepEqual(c.models, [
      { id: "big", source: "builtin:tiny", contextSize: 8192, parallel: 2 },
      { id: "small", source: "builtin:tiny" },
      { id: "x", source: "builtin:tiny" },
    ]);
  });

  it("reads JSON too", () => {
    const c = parse(["--config", file("b.json", JSON.stringify({ "no-metrics": true, models: ["builtin:tiny"] }))]);
    assert.equal(c.http.metrics, false);
    assert.deepEqual(c.models, [{ id: "tiny", source: "builtin:tiny" }]);
  });

  it("names what is wrong", () => {
    assert.throws(() => parse(["--config", file("c.yaml", "portt: 1")]), /unknown setting 'portt'/);
    assert.throws(
      () => parse(["--config", file("d.yaml", "models:\n  - source: builtin:tiny\n    parallel: 0")]),
      /models/,
    );
    assert.throws(() => parse(["--config", file("e.yaml", "port: [1\n")]), /not valid YAML/);
    assert.throws(() => parse(["--config", join(dir, "missing.yaml")]), /missing\.yaml/);
    assert.throws(
      () => parse(["--config", file("f.yaml", "models: [builtin:tiny, builtin:tiny]")]),
      /two models are named 'tiny'/,
    );
  });
});

describe("serve --config: upstream models (src/gateway)", () => {
  it("reads an upstream group beside local models, with defaults; upstreams alone load no local model", () => {
    process.env.LAVASH_TEST_UPSTREAM_KEY = "sk-upstream";
    const path = file(
      "g.yaml",
      [
        "models:",
        "  - small=builtin:tiny",
        "  - id: chat",
        "    replicas:",
        "      - base_url: http://10.0.0.1:8000/v1/",
        "        model: Qwen/Qwen2.5-7B-Instruct",
        "        api-key-env: LAVASH_TEST_UPSTREAM_KEY",
        "        weight: 2",
        "      - { base-url: http://10.0.0.2:8000/v1, api_key: k2, name: second }",
        "    fallbacks: [small]",
        "    routing: { policy: least_loaded, cache-threshold: 0.5 }",
        "    health_check: { interval: 0, endpoint: models }",
      ].join("\n"),
    );
    const c = parse(["--config", path]);
    assert.deepEqual(c.models, [{ id: "small", source: "builtin:tiny" }]);
    assert.equal(c.upstreams.length, 1);
    const u = c.upstreams[0]!;
    assert.deepEqual(u.replicas, [
      {
        name: "chat/0",
        baseUrl: "http://10.0.0.1:8000/v1",
        model: "Qwen/Qwen2.5-7B-Instruct",
        apiKey: "sk-upstream",
        weight: 2,
        cacheProbe: false,
      },
      {
        name: "second",
        baseUrl: "http://10.0.0.2:8000/v1",
        model: "chat",
        apiKey: "k2",
        weight: 1,
        cacheProbe: false,
      },
    ]);
    assert.deepEqual(u.fallbacks, ["small"]);
    assert.deepEqual(u.routing, {
      policy: "least_loaded",
      cacheThreshold: 0.5,
      balanceAbsThreshold: 64,
      balanceRelThreshold: 1.5,
      maxTreeChars: 4_000_000,
      probeTimeoutSeconds: 0.05,
    });
    assert.equal(u.health.intervalSeconds, 0);
    assert.equal(u.health.endpoint, "models");
    assert.equal(u.retries, 2);

    const only = parse([
      "--config",
      file("h.json", JSON.stringify({ models: [{ id: "chat", replicas: [{ base_url: "http://127.0.0.1:1/v1" }] }] })),
    ]);
    assert.deepEqual(only.models, [], "no built-in tiny when the file names upstream models only");
  });

  it("names the file, the entry and the key of what is wrong", () => {
    const bad = (name: string, yaml: string, pattern: RegExp) =>
      assert.throws(() => parse(["--config", file(name, yaml)]), pattern);
    bad(
      "i.yaml",
      "models:\n  - id: chat\n    replicas: [{ base_url: not-a-url }]",
      /i\.yaml: models\[0\] \(chat\)[\s\S]*base_url/,
    );
    bad(
      "j.yaml",
      "models:\n  - id: chat\n    replicas: [{ base_url: http://x/v1, wieght: 2 }]",
      /j\.yaml[\s\S]*wieght/,
    );
    bad("k.yaml", "models:\n  - id: chat\n    replicas: []", /k\.yaml: models\[0\] \(chat\)[\s\S]*replicas/);
    bad(
      "l.yaml",
      "models:\n  - id: chat\n    replicas: [{ base_url: http://x/v1, api_key_env: LAVASH_TEST_NOT_SET_ANYWHERE }]",
      /l\.yaml: models\[0\] \(chat\): replicas\[0\]\.api_key_env: the environment variable LAVASH_TEST_NOT_SET_ANYWHERE is not set/,
    );
    bad(
      "m.yaml",
      "models:\n  - id: chat\n    replicas: [{ base_url: http://x/v1 }]\n    routing: { policy: random }",
      /m\.yaml[\s\S]*routing\.policy/,
    );
    bad(
      "n.yaml",
      "models:\n  - tiny=builtin:tiny\n  - id: tiny\n    replicas: [{ base_url: http://x/v1 }]",
      /two models are named 'tiny'/,
    );
  });

  it("reads client keys with names and limits; the flags' limits are their defaults", () => {
    process.env.LAVASH_TEST_TEAM_KEY = "sk-team-b";
    try {
      const path = file(
        "keys.yaml",
        [
          "rate-limit-rpm: 10",
          "keys:",
          "  - { name: team-a, key: sk-team-a, rpm: 60, tpm: 1000 }",
          "  - { name: team-b, key-env: LAVASH_TEST_TEAM_KEY }",
          "  - { name: unlimited, key: sk-free, rpm: 0 }",
        ].join("\n"),
      );
      const c = parse(["--config", path]);
      assert.deepEqual(c.http.auth.clients, [
        { key: "sk-team-a", name: "team-a", rpm: 60, tpm: 1000 },
        { key: "sk-team-b", name: "team-b" },
        { key: "sk-free", name: "unlimited", rpm: 0 },
      ]);
      assert.deepEqual(c.http.auth.defaultLimits, { rpm: 10, tpm: 0 });
    } finally {
      delete process.env.LAVASH_TEST_TEAM_KEY;
    }
    const bad = (name: string, yaml: string, pattern: RegExp) =>
      assert.throws(() => parse(["--config", file(name, yaml)]), pattern);
    bad("k1.yaml", "keys:\n  - { name: a }", /k1\.yaml: keys\[0\][\s\S]*one of key and key_env/);
    bad("k2.yaml", "keys:\n  - { name: a, key: x }\n  - { name: a, key: y }", /keys\[1\]: two keys are named 'a'/);
    bad(
      "k3.yaml",
      "keys:\n  - { name: a, key_env: LAVASH_TEST_NOT_SET_ANYWHERE }",
      /keys\[0\] \(a\): the environment variable/,
    );
    bad("k4.yaml", "keys:\n  - { name: a, key: x, rpm: -1 }", /k4\.yaml: keys\[0\][\s\S]*rpm/);
    bad("k5.yaml", "keys:\n  - { name: a, key: x, budget: 5 }", /k5\.yaml: keys\[0\][\s\S]*budget/);
  });
});
