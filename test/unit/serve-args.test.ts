// `lavash serve` flags for serving under load: API keys (flags, file, environment), CORS
// origins, metrics, timeouts; and the help lists them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { parseServeArgs, serveHelp, type ServeConfig } from "../../src/cli/serve.js";

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
      auth: { keys: [], adminKeys: [], protectHealth: false, protectMetrics: false },
      corsOrigins: [],
      metrics: true,
      requestTimeoutSeconds: 600,
      itsMaxTokens: 200_000,
    });
    assert.equal(config.shutdownTimeoutSeconds, 30);
    assert.equal(parse(["--its-max-tokens", "5000"]).http.itsMaxTokens, 5000);
    assert.throws(() => parse(["--its-max-tokens", "0"]), /--its-max-tokens must be an integer >= 1/);
  });

  it("collects API keys from flags, $LAVASH_API_KEY and a key file", () => {
    const file = keyFile("# team keys\nsk-file-one\n\n  sk-file-two  \r\n# old: sk-revoked\n");
    process.env.LAVASH_API_KEY = "sk-env";
    const config = parse(["--api-key", "sk-a", "--api-key", "sk-b", "--api-key-file", file, "--protect-health", "--protect-metrics"]);
    assert.deepEqual(config.http.auth, { keys: ["sk-a", "sk-b", "sk-env", "sk-file-one", "sk-file-two"], adminKeys: [], protectHealth: true, protectMetrics: true });
  });

  it("refuses a key file without keys and keys with spaces", () => {
    delete process.env.LAVASH_API_KEY;
    const file = keyFile("# nothing yet\n\n");
    assert.throws(() => parse(["--api-key-file", file]), /holds no keys/);
    assert.throws(() => parse(["--api-key", "two words"]), /no spaces/);
    assert.throws(() => parse(["--api-key", ""]), /non-empty/);
  });

  it("takes CORS origins, --no-metrics and timeouts in seconds", () => {
    const config = parse(["--cors-origin", "https://a.example", "--cors-origin", "*", "--no-metrics", "--request-timeout", "0", "--shutdown-timeout", "2.5"]);
    assert.deepEqual(config.http.corsOrigins, ["https://a.example", "*"]);
    assert.equal(config.http.metrics, false);
    assert.equal(config.http.requestTimeoutSeconds, 0);
    assert.equal(config.shutdownTimeoutSeconds, 2.5);
    assert.throws(() => parse(["--request-timeout=-1"]), /--request-timeout must be a number of seconds >= 0/);
    assert.throws(() => parse(["--shutdown-timeout", "soon"]), /--shutdown-timeout/);
  });

  it("lists the new flags in --help", () => {
    const help = serveHelp();
    for (const flag of ["--api-key KEY", "--api-key-file PATH", "--protect-health", "--protect-metrics", "--cors-origin ORIGIN", "--no-metrics", "--request-timeout SECONDS", "--shutdown-timeout SECONDS"])
      assert.ok(help.includes(flag), flag);
  });
});
