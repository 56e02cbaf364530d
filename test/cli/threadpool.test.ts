// `lavash serve` runs with a libuv pool of one thread unless UV_THREADPOOL_SIZE says otherwise
// (bin/lavash.cjs). With an ES module entry the pool started with its default of 4 threads before
// the entry's first line could set it, and 16 streams on the 0.5B shape decoded 2-3x slower.
// Observed from outside: the server's thread count (/proc/PID/task) at rest, once its model is
// loaded, is the same as with UV_THREADPOOL_SIZE=1 set by hand, and 3 less than with 4.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { LAVASH } from "./run-cli.js";

/** Threads of a `lavash serve` started with `pool` as UV_THREADPOOL_SIZE (undefined: unset). */
async function serverThreads(pool: string | undefined): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, LAVASH_API_KEY: "" };
  delete env.UV_THREADPOOL_SIZE;
  if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool;
  const args = [
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--ctx-size",
    "256",
    "--parallel",
    "1",
    "--threads",
    "1",
  ];
  const child = spawn(process.execPath, [LAVASH, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  const log: string[] = [];
  child.stderr.on("data", (d: Buffer) => log.push(d.toString()));
  try {
    const root = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 60 s:\n${log.join("\n")}`)), 60_000);
      createInterface({ input: child.stdout }).on("line", (line) => {
        log.push(line);
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once("exit", (code) => reject(new Error(`lavash serve exited (${code}):\n${log.join("\n")}`)));
    });
    // The model loads on a pool thread: once /health says ready, the pool has started.
    for (let i = 0; ; i++) {
      const status = await fetch(`${root}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      assert.ok(i < 600, `model loaded within 60 s:\n${log.join("\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return readdirSync(`/proc/${child.pid}/task`).length;
  } finally {
    child.kill("SIGKILL");
  }
}

describe("lavash serve's libuv pool", { skip: !existsSync("/proc/self/task") && "needs /proc (Linux)" }, () => {
  it("has one thread unless UV_THREADPOOL_SIZE is set", { timeout: 240_000 }, async () => {
    const byDefault = await serverThreads(undefined);
    const one = await serverThreads("1");
    const four = await serverThreads("4");
    assert.equal(four - one, 3, `threads with a pool of 1: ${one}, of 4: ${four}`);
    assert.equal(byDefault, one, `threads by default: ${byDefault}, with a pool of 1: ${one}, of 4: ${four}`);
  });
});
