// `lavash chat` against the real server with the `tiny` model: in a pseudo-terminal (util-linux
// `script`; skipped where it is missing) as a person uses it, and through pipes as scripts do.
// The prompt_tokens the server reports (the stats line after each answer) show what was sent:
// the history grows, /reset empties it, /system adds a system message.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closedPortUrl, hasScript, PtySession, runCli, statsLines, useTestServer } from "./run-cli.js";

describe("lavash chat", () => {
  const server = useTestServer({ parallel: 2 });

  it("in a terminal: streams answers, keeps the history, /reset, /system, /exit", {
    skip: !hasScript() && "util-linux script is not installed",
    timeout: 240_000,
  }, async () => {
    const pty = new PtySession(["chat", "--url", server().baseURL, "--max-tokens", "4", "--seed", "7"]);
    try {
      const turn = (n: number): Promise<{ completion: number; prompt: number }> =>
        pty.waitFor(`answer ${n}`, (out) => statsLines(out)[n - 1]);
      const notes = (text: string, n: number): Promise<boolean> =>
        pty.waitFor(`"${text}" #${n}`, (out) => out.split(text).length > n);
      await pty.waitFor("the prompt", (out) => out.includes("> "));

      pty.type("hello\r");
      const first = await turn(1);
      assert.ok(first.completion >= 1 && first.completion <= 4, JSON.stringify(first));
      pty.type("hello\r");
      const second = await turn(2);
      assert.ok(
        second.prompt > first.prompt + first.completion,
        `the history is sent: ${second.prompt} vs ${first.prompt}`,
      );

      pty.type("/reset\r");
      await notes("conversation cleared", 1);
      pty.type("hello\r");
      const third = await turn(3);
      assert.equal(third.prompt, first.prompt, "after /reset only the new message is sent");

      pty.type("/system You are a terse assistant.\r");
      await notes("system prompt set", 1);
      pty.type("/reset\r");
      await notes("conversation cleared", 2);
      pty.type("hello\r");
      const fourth = await turn(4);
      assert.ok(fourth.prompt > first.prompt + 3, `the system prompt is sent: ${fourth.prompt} vs ${first.prompt}`);

      pty.type("/exit\r");
      assert.equal(await pty.exit(), 0);
      // The prompt came back after each answer, and the answers were written to the terminal.
      assert.ok(pty.output.split("> ").length >= 9, pty.output);
    } finally {
      pty.kill();
    }
  });

  it("in a terminal: Ctrl-C stops an answer, Ctrl-D on an empty line quits with 0", {
    skip: !hasScript() && "util-linux script is not installed",
    timeout: 120_000,
  }, async () => {
    const pty = new PtySession(["chat", "--url", server().baseURL, "--max-tokens", "500"]);
    try {
      await pty.waitFor("the prompt", (out) => out.includes("> "));
      pty.type("hello\r");
      const echoed = await pty.waitFor("the echo", (out) => (out.includes("> hello\n") ? out.length : undefined));
      await pty.waitFor("the answer's first tokens", (out) => out.length > echoed + 3);
      pty.type("\x03");
      await pty.waitFor("(stopped)", (out) => out.includes("(stopped)"));
      await pty.waitFor("the prompt again", (out) => out.slice(out.indexOf("(stopped)")).includes("> "));
      assert.equal(statsLines(pty.output).length, 0, "a stopped answer has no usage");
      pty.type("\x04");
      assert.equal(await pty.exit(), 0);
    } finally {
      pty.kill();
    }
  });

  it("through pipes: a message a line, stats on stderr, EOF ends it", { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runCli(
      ["chat", "--url", server().baseURL, "--max-tokens", "3", "--seed", "1", "--temperature", "0"],
      {
        input: "hello\nhello\n/reset\nhello\n/temp 0.5\n/temp nope\n/nope\n",
      },
    );
    assert.equal(code, 0, stderr);
    const stats = statsLines(stderr);
    assert.equal(stats.length, 3, stderr);
    assert.ok(stats[1]!.prompt > stats[0]!.prompt);
    assert.equal(stats[2]!.prompt, stats[0]!.prompt);
    assert.match(stderr, /temperature 0\.5/);
    assert.match(stderr, /the temperature must be a number from 0 to 2, got 'nope'/);
    assert.match(stderr, /unknown command \/nope/);
    // Answers only on stdout: no prompt, no notes.
    assert.equal(stdout.includes("> "), false);
    assert.ok(stdout.length > 0);
    assert.equal(stdout.includes("conversation cleared"), false);
  });

  it("--model loads the model in-process", { timeout: 120_000 }, async () => {
    const { code, stderr } = await runCli(
      ["chat", "--model", "builtin:tiny", "--ctx-size", "256", "--max-tokens", "3", "--system", "Be brief."],
      {
        input: "hi\n/exit\nnever sent\n",
      },
    );
    assert.equal(code, 0, stderr);
    assert.match(stderr, /RANDOM weights/);
    assert.match(stderr, /chatting with tiny at http:\/\/127\.0\.0\.1:\d+\/v1/);
    const stats = statsLines(stderr);
    assert.equal(stats.length, 1, stderr);
  });

  it("a server that is not there: the error, and exit code 1", { timeout: 60_000 }, async () => {
    const closed = await closedPortUrl();
    const { code, stderr } = await runCli(["chat", "--url", closed], { input: "hi\n" });
    assert.equal(code, 1);
    assert.match(stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1/);
  });
});
