#!/usr/bin/env node
// llama.cpp's compute threads fight libuv's pool for the CPU: a pool of 1 thread made decoding
// 2.5x faster on small models (docs/performance.md). libuv reads this variable when its pool
// starts, which is after this line as long as nothing asynchronous ran before it.
process.env.UV_THREADPOOL_SIZE ??= "1";
try {
  await import("../dist/cli/main.js");
} catch (error) {
  // Only a checkout that was never built lacks dist/: the published package ships it.
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("/dist/cli/main.js")) {
    console.error("lavash: dist/ is missing: run `npm run build` (npm ci and npm test build it too)");
    process.exit(1);
  }
  throw error;
}
