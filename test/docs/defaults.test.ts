// The docs quote serve's flags and defaults from the code: the block in docs/reference.md must be
// exactly what `lavash serve --help` prints, so a changed default cannot leave the docs behind.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { serveHelp } from "../../src/cli/serve.js";

const reference = readFileSync(new URL("../../docs/reference.md", import.meta.url), "utf8");

describe("docs/reference.md", () => {
  it("quotes `lavash serve --help` as the code prints it", () => {
    const block = /<!-- serve-help:start -->\n```text\n([\s\S]*?)\n```\n<!-- serve-help:end -->/.exec(reference);
    assert.ok(block, "the serve-help block is missing from docs/reference.md");
    assert.equal(
      block[1],
      serveHelp(),
      "docs/reference.md is stale: paste the output of `node bin/lavash.cjs serve --help`",
    );
  });
});
