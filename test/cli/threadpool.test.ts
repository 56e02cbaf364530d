// `lavash serve` runs with a libuv pool of one thread per CPU unless UV_THREADPOOL_SIZE says
// otherwise (bin/lavash.cjs). With an ES module entry the pool started with Node's default of 4
// threads before the entry's first line could set it. Observed from outside: the server's thread
// count (/proc/PID/task) at rest, once its model is loaded, is the same as with the CPU count set
// by hand, and the pool's size follows the variable (4 threads give 3 more than 1).
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { startServeProcess } from "./run-cli.js";

/** Threads of a `lavash serve` started with `pool` as UV_THREADPOOL_SIZE (undefined: unset). */
async function serverThreads(pool: string | undefined): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, LAVASH_API_KEY: "" };
  delete env.UV_THREADPOOL_SIZE;
  if (pool !== undefined) env.UV_THREADPOOL_SIZE = pool;
  // The model loads on a pool thread: once /health says ready, the pool has started.
  const server = await startServeProcess(["--ctx-size", "256", "--parallel", "1", "--threads", "1"], env);
  try {
    return readdirSync(`/proc/${server.child.pid}/task`).length;
  } finally {
    server.child.kill("SIGKILL");
  }
}

describe("lavash serve's libuv pool", { skip: !existsSync("/proc/self/task") && "needs /proc (Linux)" }, () => {
  it("has one thread per CPU unless UV_THREADPOOL_SIZE is set", { timeout: 300_000 }, async () => {
    const cpus = String(availableParallelism());
    const byDefault = await serverThreads(undefined);
    const perCpu = await serverThreads(cpus);
    const one = await serverThreads("1");
    const four = await serverThreads("4");
    assert.equal(four - one, 3, `threads with a pool of 1: ${one}, of 4: ${four}`);
    assert.equal(byDefault, perCpu, `threads by default: ${byDefault}, with a pool of ${cpus}: ${perCpu}`);
  });
});
