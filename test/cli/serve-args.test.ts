// `lavash serve` flags for serving under load: API keys (flags, file, environment), CORS
// origins, metrics, timeouts; and the help lists them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { parseServeArgs, type ServeConfig, serveHelp } from "../../src/cli/serve.js";

function parse(args: string[]): ServeConfig {
  const config = parseServeArgs(args);
  assert.notEqual(config, "help");
  return config as ServeConfig;
}

const dirs: string[] = [];
function keyFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lavash-keys-"));
  dirs.push(dir);
  writeFileSync(join(dir, "keys"), text);
  return join(dir, "keys");
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const savedKey = process.env.LAVASH_API_KEY;
afterEach(() => {
  if (savedKey === undefined) delete process.env.LAVASH_API_KEY;
  else process.env.LAVASH_API_KEY = savedKey;
});

describe("serve flags", () => {
  it("defaults: open, no CORS, metrics on, 600 s request and 30 s shutdown timeouts, 200k its tokens", () => {
    delete process.env.LAVASH_API_KEY;
    const config = parse([]);
    assert.deepEqual(config.http, {
      auth: {
        keys: [],
        clients: [],
        defaultLimits: { rpm: 0, tpm: 0 },
        adminKeys: [],
        protectHealth: false,
        protectMetrics: false,
      },
      corsOrigins: [],
      metrics: true,
      requestTimeoutSeconds: 600,
      itsMaxTokens: 200_000,
      bodyLimit: 8 * 1024 * 1024,
    });
    assert.equal(config.shutdownTimeoutSeconds, 30);
    assert.equal(parse(["--its-max-tokens", "5000"]).http.itsMaxTokens, 5000);
    assert.throws(() => parse(["--its-max-tokens", "0"]), /--its-max-tokens must be an integer >= 1/);
  });

  it("collects API keys from flags, $LAVASH_API_KEY and a key file", () => {
    const file = keyFile("# team keys\nsk-file-one\n\n  sk-file-two  \r\n# old: sk-revoked\n");
    process.env.LAVASH_API_KEY = "sk-env";
    const config = parse([
      "--api-key",
      "sk-a",
      "--api-key",
      "sk-b",
      "--api-key-file",
      file,
      "--protect-health",
      "--protect-metrics",
    ]);
    assert.deepEqual(config.http.auth, {
      keys: ["sk-a", "sk-b", "sk-env", "sk-file-one", "sk-file-two"],
      clients: [],
      defaultLimits: { rpm: 0, tpm: 0 },
      adminKeys: [],
      protectHealth: true,
      protectMetrics: true,
    });
  });

  it("--rate-limit-rpm and --rate-limit-tpm: the limits of every key; they need keys", () => {
    delete process.env.LAVASH_API_KEY;
    const config = parse(["--api-key", "k", "--rate-limit-rpm", "60", "--rate-limit-tpm", "100000"]);
    assert.deepEqual(config.http.auth.defaultLimits, { rpm: 60, tpm: 100_000 });
    assert.throws(() => parse(["--rate-limit-rpm", "60"]), /--rate-limit-rpm limits each API key: give keys/);
    assert.throws(() => parse(["--api-key", "k", "--rate-limit-tpm=-1"]), /--rate-limit-tpm must be an integer >= 0/);
  });

  it("refuses a key file without keys and keys with spaces", () => {
    delete process.env.LAVASH_API_KEY;
    const file = keyFile("# nothing yet\n\n");
    assert.throws(() => parse(["--api-key-file", file]), /holds no keys/);
    assert.throws(() => parse(["--api-key", "two words"]), /no spaces/);
    assert.throws(() => parse(["--api-key", ""]), /non-empty/);
  });

  it("takes CORS origins, --no-metrics and timeouts in seconds", () => {
    const config = parse([
      "--cors-origin",
      "https://a.example",
      "--cors-origin",
      "*",
      "--no-metrics",
      "--request-timeout",
      "0",
      "--shutdown-timeout",
      "2.5",
    ]);
    assert.deepEqual(config.http.corsOrigins, ["https://a.example", "*"]);
    assert.equal(config.http.metrics, false);
    assert.equal(config.http.requestTimeoutSeconds, 0);
    assert.equal(config.shutdownTimeoutSeconds, 2.5);
    assert.throws(() => parse(["--request-timeout=-1"]), /--request-timeout must be a number of seconds >= 0/);
    assert.throws(() => parse(["--shutdown-timeout", "soon"]), /--shutdown-timeout/);
  });

  it("lists the new flags in --help", () => {
    const help = serveHelp();
    for (const flag of [
      "--api-key KEY",
      "--api-key-file PATH",
      "--protect-health",
      "--protect-metrics",
      "--cors-origin ORIGIN",
      "--no-metrics",
      "--request-timeout SECONDS",
      "--shutdown-timeout SECONDS",
    ])
      assert.ok(help.includes(flag), flag);
  });
});

describe("serve flags as llama-server spells them", () => {
  it("-m, -c, -np, -t and -ngl are --model, --ctx-size, --parallel, --threads and --gpu-layers", () => {
    const config = parse(["-m", "a.gguf", "-c", "512", "-np", "2", "-t", "3", "-ngl", "99"]);
    assert.deepEqual(config.models, [{ id: "a", source: "a.gguf" }]);
    assert.equal(config.contextSize, 512);
    assert.equal(config.parallel, 2);
    assert.equal(config.threads, 3);
    assert.equal(config.gpuLayers, 99);
  });

  it("takes the = forms and --n-gpu-layers", () => {
    const config = parse(["-c=1024", "-np=3", "--n-gpu-layers=5", "--model=-c.gguf"]);
    assert.equal(config.contextSize, 1024);
    assert.equal(config.parallel, 3);
    assert.equal(config.gpuLayers, 5);
    assert.deepEqual(config.models, [{ id: "-c", source: "-c.gguf" }]);
    assert.equal(parse(["--gpu-layers", "auto"]).gpuLayers, "auto");
    assert.equal(parse([]).gpuLayers, undefined, "absent: each model's own, else what fits");
    assert.throws(() => parse(["-ngl", "-1"]), /--gpu-layers/);
    assert.throws(() => parse(["-ngl", "many"]), /--gpu-layers must be an integer >= 0, got 'many'/);
  });

  it("serves model paths given as arguments, as llama-server and ollama run take them", () => {
    assert.deepEqual(parse(["./models/qwen.gguf"]).models, [{ id: "qwen", source: "./models/qwen.gguf" }]);
    assert.deepEqual(parse(["a.gguf", "-m", "b=builtin:tiny"]).models, [
      { id: "a", source: "a.gguf" },
      { id: "b", source: "builtin:tiny" },
    ]);
  });

  it("stored responses: under the cache directory by default, --responses-db, bounds, --no-store", () => {
    const cacheDir = join(tmpdir(), "lavash-cache-x");
    assert.deepEqual(parse(["--cache-dir", cacheDir]).responses, {
      path: join(cacheDir, "responses.sqlite"),
      bounds: { maxAgeSeconds: 30 * 86_400, maxEntries: 100_000 },
    });
    assert.deepEqual(
      parse(["--responses-db", "/tmp/r.db", "--responses-max-age", "0.5", "--responses-max-count", "0"]).responses,
      { path: "/tmp/r.db", bounds: { maxAgeSeconds: 43_200, maxEntries: 0 } },
    );
    assert.equal(parse(["--no-store"]).responses, null);
    assert.throws(() => parse(["--responses-max-age=-1"]), /--responses-max-age must be a number of days >= 0/);
  });

  it("-h is --help, and the help shows each alias with its flag", () => {
    assert.equal(parseServeArgs(["-h"]), "help");
    const help = serveHelp();
    assert.match(help, /^Usage: lavash serve \[options\] \[MODEL\.gguf \.\.\.\]/);
    for (const [alias, flag] of [
      ["-m", "--model"],
      ["-c", "--ctx-size"],
      ["-np", "--parallel"],
      ["-t", "--threads"],
      ["-ngl", "--gpu-layers"],
      ["-h", "--help"],
    ])
      assert.match(help, new RegExp(`^ +${alias}, ${flag} `, "m"), `${alias}, ${flag}`);
    assert.match(help, /also --n-gpu-layers/);
    assert.throws(() => parse(["-x"]), /Unknown option '-x'/);
  });
});
