// `lavash models` (a server's models, or the GGUF files in the cache directories, read from their
// headers) and `lavash pull` (builtin: generates offline; hf: fails fast and clearly offline).
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { builtinModelFileName, ensureBuiltinModel } from "../../src/models/builtin.js";
import { closedPortUrl, runCli, useTempDir, useTestServer } from "./run-cli.js";

describe("lavash models", () => {
  const server = useTestServer({ parallel: 1 });
  const tempDir = useTempDir("lavash-cli-models-");

  it("--url lists the served models", { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runCli(["models", "--url", server().baseURL]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+OWNED BY\s+CREATED$/);
    assert.match(lines[1]!, /^tiny\s+lavash\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(lines.length, 2);
  });

  it("lists the cached GGUF files with size, architecture, quantization and context length", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const empty = await runCli(["models", "--cache-dir", dir, "--download-dir", join(dir, "none")]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /^no GGUF files in /);

    const path = await ensureBuiltinModel("tiny", { cacheDir: dir });
    const { code, stdout, stderr } = await runCli(["models", "--cache-dir", dir, "--download-dir", join(dir, "none")]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^SIZE\s+ARCH\s+QUANT\s+CONTEXT\s+PATH$/);
    assert.equal(lines.length, 2, stdout);
    const size = ((await stat(path)).size / 1e6).toFixed(1);
    assert.deepEqual(lines[1]!.split(/\s{2,}/), [`${size} MB`, "qwen2", "F16", "4096", path]);
  });

  it("--url of a server that is not there", { timeout: 60_000 }, async () => {
    const closed = await closedPortUrl();
    const { code, stderr } = await runCli(["models", "--url", closed]);
    assert.equal(code, 1);
    assert.match(stderr, /cannot reach/);
  });
});

describe("lavash pull", () => {
  const tempDir = useTempDir("lavash-cli-pull-");

  it("builtin:<preset> generates the model into --dir and prints its path", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const { code, stdout, stderr } = await runCli(["pull", "builtin:tiny", "--dir", dir]);
    assert.equal(code, 0, stderr);
    const path = join(dir, builtinModelFileName("tiny"));
    assert.equal(stdout, `${path}\n`);
    assert.ok((await stat(path)).size > 40e6);
    const unknown = await runCli(["pull", "builtin:huge"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown built-in preset 'huge'; presets: tiny/);
  });

  it("hf: with the download host unreachable fails fast, naming the host (exit code 1)", {
    timeout: 60_000,
  }, async () => {
    const closed = new URL(await closedPortUrl());
    const started = Date.now();
    const { code, stdout, stderr } = await runCli(
      ["pull", "hf:lavash-test/none-GGUF:Q8_0", "--dir", tempDir(), "--timeout", "5"],
      {
        env: { HF_ENDPOINT: `${closed.origin}/`, MODEL_ENDPOINT: "" },
      },
    );
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(
      stderr.trim(),
      `lavash pull: cannot reach ${closed.host}: check your connection (lavash pull needs internet)`,
    );
    assert.ok(Date.now() - started < 30_000);
  });

  it("hf: against huggingface.co: offline, 'cannot reach huggingface.co'; online, the repository is not found", {
    timeout: 60_000,
  }, async () => {
    const { code, stdout, stderr } = await runCli(
      ["pull", "hf:lavash-test/no-such-repo-GGUF:Q8_0", "--dir", tempDir(), "--timeout", "5"],
      {
        env: { HF_ENDPOINT: "", MODEL_ENDPOINT: "" },
      },
    );
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /cannot reach huggingface\.co: check your connection \(lavash pull needs internet\)|could not download hf:lavash-test\/no-such-repo-GGUF:Q8_0/,
    );
  });

  it("a source that cannot be pulled, and no source", { timeout: 60_000 }, async () => {
    const odd = await runCli(["pull", "./model.gguf"]);
    assert.equal(odd.code, 1);
    assert.match(odd.stderr, /'\.\/model\.gguf' is not something to pull/);
    const none = await runCli(["pull"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /expected one model source, got 0/);
  });
});
