#!/usr/bin/env node
// Runs every test file under test/ with node's built-in runner (TypeScript through tsx).
// Usage: npm test [-- substring ...]   (only files whose path contains one of the substrings)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith(".test.ts")) out.push(relative(root, path));
  }
  return out;
}

const files = collect(join(root, "test")).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(", ")}`);
  process.exit(1);
}
// One file at a time: the integration tests each start a server with a real model, and the
// machine has 2 cores. The tests' in-process servers run their native calls on one libuv thread,
// one after another as the suite has always run them; `lavash serve` takes one per CPU
// (bin/lavash.cjs), and test/cli/threadpool.test.ts checks that.
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit", env: { ...process.env, UV_THREADPOOL_SIZE: "1" } },
);
process.exit(result.status ?? 1);
