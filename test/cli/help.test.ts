// `lavash --help` lists every command; each command's --help lists its flags with their defaults.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "./run-cli.js";

const COMMANDS: Record<string, string[]> = {
  chat: [
    "--url URL",
    "--model SRC|ID",
    "--api-key KEY",
    "--system TEXT",
    "--temperature T",
    "--max-tokens N",
    "--seed N",
    "--ctx-size N",
    "--cache-dir DIR",
  ],
  complete: ["--url URL", "--model SRC|ID", "--api-key KEY", "--temperature T", "--max-tokens N", "--seed N", "--chat"],
  models: ["--url URL", "--api-key KEY", "--cache-dir DIR", "--download-dir DIR"],
  pull: ["--dir DIR", "--timeout SECONDS"],
};

describe("lavash --help", () => {
  it("lists every command", { timeout: 60_000 }, async () => {
    const { code, stdout } = await runCli(["--help"]);
    assert.equal(code, 0);
    for (const command of ["serve", "make-model", "bench", ...Object.keys(COMMANDS)])
      assert.match(stdout, new RegExp(`^  ${command} +\\S`, "m"));
  });

  for (const [command, flags] of Object.entries(COMMANDS)) {
    it(`lavash ${command} --help lists its flags with defaults`, { timeout: 60_000 }, async () => {
      const { code, stdout } = await runCli([command, "--help"]);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`^Usage: lavash ${command} `));
      for (const flag of flags) {
        const line = stdout.split("\n").find((l) => l.startsWith(`  ${flag} `));
        assert.ok(line, `${flag} in\n${stdout}`);
        if (flag !== "--help") assert.match(line, /\(default: .+\)$/, line);
      }
      assert.match(stdout, /^ {2}--help +show this help$/m);
    });
  }

  it("an unknown flag is an error", { timeout: 60_000 }, async () => {
    const { code, stderr } = await runCli(["models", "--bogus"]);
    assert.equal(code, 1);
    assert.match(stderr, /lavash models: Unknown option '--bogus'/);
  });
});
