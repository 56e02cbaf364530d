#!/usr/bin/env node
// libuv's pool runs node-llama-cpp's native calls (decodes, samples, loads): one thread per CPU,
// so a tick's samples run on every core at once and a model's load leaves others to serve. Node's
// default of 4 on a 2-vCPU machine made one stream of a small model slower; a pool of 1 serialized the
// samples: at 16 streams on the 0.5B shape it ran 145-164 tok/s against 181-220 with 4
// (docs/performance.md, "One ubatch a decode"). libuv reads this variable when its pool starts.
// This file is CommonJS because Node reads an ES module entry asynchronously, which starts the
// pool (with its default of 4 threads) before the module's first line runs.
process.env.UV_THREADPOOL_SIZE ??= String(require("node:os").availableParallelism());
import("../dist/cli/main.js").catch((error) => {
  // Only a checkout that was never built lacks dist/: the published package ships it.
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("/dist/cli/main.js")) {
    console.error("lavash: dist/ is missing: run `npm run build` (npm ci and npm test build it too)");
    process.exit(1);
  }
  throw error;
});
