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
