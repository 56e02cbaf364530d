// `lavash complete`: one streamed completion, from an argument or stdin, on the legacy endpoint or
// (--chat) the chat endpoint; against the real server with the `tiny` model, and in-process.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closedPortUrl, runCli, useTestServer } from "./run-cli.js";

describe("lavash complete", () => {
  const server = useTestServer({ parallel: 2 });

  it("reads the prompt from stdin and streams the legacy completion to stdout", { timeout: 60_000 }, async () => {
    const args = ["complete", "--url", server().baseURL, "--max-tokens", "6", "--seed", "3"];
    const { code, stdout, stderr } = await runCli(args, { input: "Once upon a time" });
    assert.equal(code, 0, stderr);
    // The same request through the API gives the same text (same seed, greedy or not).
    const expected = await server().client.completions.create({
      model: "tiny",
      prompt: "Once upon a time",
      max_tokens: 6,
      seed: 3,
    });
    assert.equal(
      stdout,
      expected.choices[0]!.text.endsWith("\n") ? expected.choices[0]!.text : `${expected.choices[0]!.text}\n`,
    );
  });

  it("--chat sends the argument as a user message", { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runCli([
      "complete",
      "--url",
      server().baseURL,
      "--model",
      "tiny",
      "--max-tokens",
      "5",
      "--seed",
      "9",
      "--chat",
      "Say",
      "hi",
    ]);
    assert.equal(code, 0, stderr);
    const expected = await server().client.chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "Say hi" }],
      max_tokens: 5,
      seed: 9,
    });
    const text = expected.choices[0]!.message.content ?? "";
    assert.equal(stdout, text.endsWith("\n") ? text : `${text}\n`);
  });

  it("--model loads the model in-process", { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runCli([
      "complete",
      "--model",
      "builtin:tiny",
      "--ctx-size",
      "256",
      "--max-tokens",
      "4",
      "Hello",
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(stdout.endsWith("\n") && stdout.length > 1, JSON.stringify(stdout));
    assert.match(stderr, /RANDOM weights/);
  });

  it("errors: unknown model (the server's 404), no server, a bad flag value", { timeout: 60_000 }, async () => {
    const missing = await runCli(["complete", "--url", server().baseURL, "--model", "nope", "hi"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^lavash complete: 404 .*nope/m);
    const closed = await closedPortUrl();
    const down = await runCli(["complete", "--url", closed, "hi"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1/);
    const bad = await runCli(["complete", "--url", server().baseURL, "--temperature", "3", "hi"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--temperature must be a number from 0 to 2, got '3'/);
  });
});
