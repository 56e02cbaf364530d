// `lavash serve` as a process, as llama-server behaves: a model that cannot load or a port in use
// ends it with exit code 1 and the reason as the last line on stderr; llama-server's flag
// spellings start a real server; `--version` prints the package's version.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { closedPortUrl, hasScript, LAVASH, PtySession, runCli, useTempDir } from "./run-cli.js";

const lastLine = (text: string): string => text.trimEnd().split("\n").at(-1) ?? "";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("lavash --version", () => {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  for (const flag of ["--version", "-v", "version"])
    it(`${flag} prints the package version`, { timeout: 30_000 }, async () => {
      const { code, stdout } = await runCli([flag]);
      assert.equal(code, 0);
      assert.equal(stdout.trim(), `lavash ${version}`);
    });
});

describe("lavash serve fails fast", () => {
  const dir = useTempDir("lavash-serve-");

  it("a missing model file: exit code 1, the reason last on stderr", { timeout: 30_000 }, async () => {
    const missing = join(dir(), "nope.gguf");
    const { code, stderr } = await runCli(["serve", "--port", String(await freePort()), "--model", missing], {
      timeoutMs: 20_000,
    });
    assert.equal(code, 1);
    assert.equal(
      lastLine(stderr),
      `lavash serve: model 'nope' could not be loaded: no such file: ${missing} (pass a .gguf file, hf:owner/repo[:quant] or builtin:tiny)`,
    );
  });

  it("a responses database that cannot be opened: exit code 1 before any model loads", {
    timeout: 30_000,
  }, async () => {
    const notADb = join(dir(), "responses.sqlite");
    await writeFile(notADb, "not a database ".repeat(100));
    const { code, stderr } = await runCli(["serve", "--port", String(await freePort()), "--responses-db", notADb], {
      timeoutMs: 20_000,
    });
    assert.equal(code, 1);
    assert.match(
      lastLine(stderr),
      /^lavash serve: cannot open the responses database .*responses\.sqlite: .*--no-store\)$/,
    );
    assert.doesNotMatch(stderr, /Loading|Ready/);
  });

  it("a file that is not GGUF, given as an argument", { timeout: 30_000 }, async () => {
    const junk = join(dir(), "notes.gguf");
    await writeFile(junk, "these are notes, not weights\n");
    const { code, stderr } = await runCli(["serve", "--port", String(await freePort()), junk], { timeoutMs: 20_000 });
    assert.equal(code, 1);
    assert.match(
      lastLine(stderr),
      /^lavash serve: model 'notes' could not be loaded: .*notes\.gguf is not a GGUF model file/,
    );
  });

  it("an unknown built-in model", { timeout: 30_000 }, async () => {
    const { code, stderr } = await runCli(["serve", "--port", String(await freePort()), "-m", "builtin:nope"], {
      timeoutMs: 20_000,
    });
    assert.equal(code, 1);
    assert.match(
      lastLine(stderr),
      /^lavash serve: model 'nope' could not be loaded: unknown built-in model 'nope'; built-in models: tiny/,
    );
  });

  it("an hf: model whose host does not answer (offline)", { timeout: 40_000 }, async () => {
    const endpoint = (await closedPortUrl()).replace(/\/v1$/, "/");
    const { code, stderr } = await runCli(
      ["serve", "--port", String(await freePort()), "-m", "hf:nobody/nothing-GGUF:Q8_0"],
      {
        env: { HF_ENDPOINT: endpoint, MODEL_ENDPOINT: "" },
        timeoutMs: 30_000,
      },
    );
    assert.equal(code, 1);
    assert.match(
      lastLine(stderr),
      /^lavash serve: model 'nobody\/nothing-GGUF' could not be loaded: cannot download hf:nobody\/nothing-GGUF:Q8_0: 127\.0\.0\.1:\d+ does not answer \(offline\?\)/,
    );
  });

  describe("a port in use", () => {
    let taken: Server;
    let port: number;
    before(async () => {
      taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      port = (taken.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => taken.close(() => resolve())));

    it("ends it before any model loads", { timeout: 30_000 }, async () => {
      const { code, stdout, stderr } = await runCli(["serve", "--port", String(port)], { timeoutMs: 20_000 });
      assert.equal(code, 1);
      assert.equal(
        lastLine(stderr),
        `lavash serve: port ${port} is already in use on 127.0.0.1: stop what listens there, or pick another port with --port`,
      );
      assert.doesNotMatch(stdout, /Loading model/);
    });
  });
});

describe("lavash serve with llama-server's flags", () => {
  it("-m builtin:tiny -c 512 -np 1 -t 1 -ngl 0 serves, and SIGTERM ends it with 0", { timeout: 120_000 }, async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [LAVASH, "serve", "-m", "builtin:tiny", "-c", "512", "-np", "1", "-t", "1", "-ngl", "0", "--port", String(port)],
      { stdio: "pipe" },
    );
    let stdout = "";
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      output += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const status = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 200) break;
        assert.ok(status === 0 || status === 503, `GET /health answered ${status}`);
        assert.ok(Date.now() < deadline, `not healthy within 90 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const status = (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()) as {
        sequences: { model: string }[];
        runtime: { binaries: string; llamaCpp: string; cpuFeatures: string };
      };
      assert.equal(status.sequences.length, 1, "-np 1: one sequence");
      // The build node-llama-cpp picked (a local build when one exists), as the startup log says.
      const picked = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
      assert.equal(status.runtime.binaries, picked.buildType === "localBuild" ? "local build" : "prebuilt");
      assert.equal(status.runtime.llamaCpp, picked.llamaCppRelease.release);
      assert.match(status.runtime.cpuFeatures, /AVX|NEON/);
      assert.ok(output.includes(`llama.cpp ${picked.llamaCppRelease.release}, `), output);
      const tokenized = (await (
        await fetch(`http://127.0.0.1:${port}/tokenize`, {
          method: "POST",
          body: JSON.stringify({ model: "tiny", prompt: "hi" }),
        })
      ).json()) as {
        max_model_len: number;
      };
      assert.equal(tokenized.max_model_len, 512, "-c 512");
      child.kill("SIGTERM");
      assert.equal(await exited, 0, output);
      // Not a terminal: JSON lines, one per request among them.
      const entries = stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { msg: string; url?: string; status?: number });
      assert.ok(
        entries.some((e) => /^Ready: tiny at http:\/\/127\.0\.0\.1:\d+\/v1$/.test(e.msg)),
        stdout,
      );
      assert.ok(
        entries.some((e) => e.msg === "request" && e.url === "/health" && e.status === 200),
        stdout,
      );
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("lavash serve in a terminal", () => {
  it("writes one line per request: method, path, status, duration, tokens, tokens/s", {
    skip: !hasScript() && "needs util-linux script",
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const session = new PtySession([
      "serve",
      "-m",
      "builtin:tiny",
      "-c",
      "512",
      "-np",
      "1",
      "-t",
      "1",
      "--port",
      String(port),
    ]);
    try {
      await session.waitFor("the ready line", (out) => /Ready: tiny at/.test(out), 90_000);
      const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "tiny", prompt: "hi", max_tokens: 4, seed: 1 }),
      });
      assert.equal(res.status, 200);
      const line = await session.waitFor("the request line", (out) =>
        out.split("\n").find((l) => l.includes("POST /v1/completions")),
      );
      assert.match(
        line,
        /^\d\d:\d\d:\d\d POST \/v1\/completions 200 (\d+ ms|[\d.]+ s) tiny: \d+ prompt \+ 4 completion tokens, [\d.]+ tok\/s$/,
      );
      assert.doesNotMatch(session.output, /reqId|"method"/, "no field-per-line dump");
    } finally {
      session.kill();
    }
  });
});
