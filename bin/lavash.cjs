#!/usr/bin/env node
// llama.cpp's compute threads fight libuv's pool for the CPU: with a pool of 4 threads, samples of
// one tick run on several workers at once and the next decodes ran 2-3x slower (docs/performance.md,
// "A pool of one libuv thread"). libuv reads this variable when its pool starts. This file is
// CommonJS because Node reads an ES module entry asynchronously, which starts the pool (with its
// default of 4 threads) before the module's first line runs.
process.env.UV_THREADPOOL_SIZE ??= "1";
import("../dist/cli/main.js").catch((error) => {
  // Only a checkout that was never built lacks dist/: the published package ships it.
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("/dist/cli/main.js")) {
    console.error("lavash: dist/ is missing: run `npm run build` (npm ci and npm test build it too)");
    process.exit(1);
  }
  throw error;
});
