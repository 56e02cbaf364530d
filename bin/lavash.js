#!/usr/bin/env node
// llama.cpp's compute threads fight libuv's pool for the CPU: a pool of 1 thread made decoding
// 2.5x faster on small models (docs/performance.md). libuv reads this variable when its pool
// starts, which is after this line as long as nothing asynchronous ran before it.
process.env.UV_THREADPOOL_SIZE ??= "1";
await import("tsx/esm");
await import("../src/cli/main.ts");
