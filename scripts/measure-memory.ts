// Where lavash's memory goes next to llama-server's (issue 12): starts, one after another, the bare
// node-llama-cpp process (scripts/memory-bare-child.mjs: model + one context of N sequences, nothing
// else), `lavash serve` and llama-server on the same GGUF with the same total KV cache (lavash's
// --ctx-size is per sequence; llama-server gets -c ctx × parallel, --no-kv-unified, as bench's
// --peer llama-server starts it), and reads each one's /proc status from outside: idle after load,
// and the peak during a short bounded load (STREAMS streaming chats of TOKENS tokens, ROUNDS times,
// loopback only). Anonymous memory (heaps, KV cache, compute buffers) is reported apart from
// file-backed memory (the mmapped weights), and child processes are counted too.
//   node --import tsx scripts/measure-memory.ts --model builtin:tiny
//   node --import tsx scripts/measure-memory.ts --model builtin:qwen2.5-0.5b-shape --targets lavash,llama-server
// `npm run build` first: lavash runs from dist/ (bin/lavash.cjs), as bench starts it. One JSON line
// per target on stdout, a table on stderr. Memory figures hold under load; timings here do not matter.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { findLlamaServer, LAVASH_BATCH_SIZE, llamaServerArgs } from "../src/bench/llama-server.js";
import { freePort, startLavashServer, startServerProcess, stopChild } from "../src/bench/server-process.js";
import { ensureBuiltinModel } from "../src/models/builtin.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "builtin:tiny" },
    targets: { type: "string", default: "bare,lavash,llama-server" },
    parallel: { type: "string", default: "16" },
    "ctx-size": { type: "string", default: "1024" },
    threads: { type: "string", default: "2" },
    streams: { type: "string", default: "4" },
    tokens: { type: "string", default: "32" },
    rounds: { type: "string", default: "2" },
    "lavash-bin": { type: "string", default: "bin/lavash.cjs" },
    "lavash-arg": { type: "string", multiple: true, default: [] },
    "peer-bin": { type: "string" },
    "peer-arg": { type: "string", multiple: true, default: [] },
  },
});
const parallel = Number(values.parallel);
const ctxSize = Number(values["ctx-size"]);
const threads = Number(values.threads);
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const rounds = Number(values.rounds);
const root = resolve(import.meta.dirname, "..");

const modelPath = values.model.startsWith("builtin:")
  ? await ensureBuiltinModel(values.model.slice("builtin:".length))
  : resolve(values.model);

/** /proc/<pid>/status and smaps_rollup fields of interest, in bytes. */
interface Mem {
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  shmem: number;
  pssAnon: number;
  pssFile: number;
}

function kb(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, "m").exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

function readMem(pid: number): Mem | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    let rollup = "";
    try {
      rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    } catch {
      // older kernels
    }
    return {
      rss: kb(status, "VmRSS"),
      hwm: kb(status, "VmHWM"),
      anon: kb(status, "RssAnon"),
      file: kb(status, "RssFile"),
      shmem: kb(status, "RssShmem"),
      pssAnon: kb(rollup, "Pss_Anon"),
      pssFile: kb(rollup, "Pss_File"),
    };
  } catch {
    return null;
  }
}

/** The process and every descendant (a server that spawns helpers pays for them too). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** Max of each field over samples taken every `ms` while `work` runs. */
async function sampledPeak(pid: number, work: () => Promise<void>, ms = 50): Promise<Mem> {
  const peak: Mem = { rss: 0, hwm: 0, anon: 0, file: 0, shmem: 0, pssAnon: 0, pssFile: 0 };
  const sample = (): void => {
    const m = readMem(pid);
    if (m) for (const k of Object.keys(peak) as (keyof Mem)[]) peak[k] = Math.max(peak[k], m[k]);
  };
  const timer = setInterval(sample, ms);
  try {
    sample();
    await work();
    sample();
  } finally {
    clearInterval(timer);
  }
  return peak;
}

async function chatLoad(baseUrl: string): Promise<void> {
  const models = (await (await fetch(`${baseUrl}/v1/models`)).json()) as { data: { id: string }[] };
  const model = models.data[0]!.id;
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const res = await fetch(`${baseUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model,
            messages: [{ role: "user", content: `Tell me a story about memory, number ${round * streams + i}.` }],
            max_tokens: tokens,
            temperature: 1,
            seed: 100 * round + i,
            stream: true,
          }),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }),
    );
  }
}

interface Result {
  target: string;
  pid: number;
  idle: Mem;
  /** Sum over the process tree, idle. */
  idleTree: { pids: number; rss: number };
  load: Mem;
  /** VmHWM at the end: the peak since start, model load included. */
  hwm: number;
  extra?: unknown;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1500));

async function measureServer(
  target: string,
  start: () => Promise<{ pid: number; baseUrl: string; stop: () => Promise<unknown> }>,
): Promise<Result> {
  const server = await start();
  try {
    await settle();
    const idle = readMem(server.pid)!;
    const tree = processTree(server.pid);
    const idleTree = { pids: tree.length, rss: tree.reduce((n, p) => n + (readMem(p)?.rss ?? 0), 0) };
    const load = await sampledPeak(server.pid, () => chatLoad(server.baseUrl));
    const hwm = readMem(server.pid)!.hwm;
    return { target, pid: server.pid, idle, idleTree, load, hwm };
  } finally {
    await server.stop();
  }
}

async function measureBare(): Promise<Result> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, "scripts", "memory-bare-child.mjs"),
      modelPath,
      String(parallel),
      String(ctxSize),
      String(LAVASH_BATCH_SIZE),
      String(threads),
    ],
    { cwd: root, env: { ...process.env, UV_THREADPOOL_SIZE: "1" }, stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (prefix: string): Promise<unknown> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error("the bare process exited");
      if (value.startsWith(`${prefix} `)) return JSON.parse(value.slice(prefix.length + 1));
    }
  };
  try {
    const ready = await next("ready");
    await settle();
    const pid = child.pid!;
    const idle = readMem(pid)!;
    const tree = processTree(pid);
    const idleTree = { pids: tree.length, rss: tree.reduce((n, p) => n + (readMem(p)?.rss ?? 0), 0) };
    let done: unknown = null;
    const load = await sampledPeak(pid, async () => {
      for (let r = 0; r < rounds; r++) {
        child.stdin!.write(`load ${streams} ${tokens}\n`);
        done = await next("done");
      }
    });
    const hwm = readMem(pid)!.hwm;
    return { target: "bare", pid, idle, idleTree, load, hwm, extra: { ready, done } };
  } finally {
    child.stdin!.end();
    await stopChild(child, 5000);
  }
}

const noop = (): void => {};
const logDir = tmpdir();
const results: Result[] = [];
for (const target of values.targets.split(",")) {
  if (target === "bare") results.push(await measureBare());
  else if (target === "lavash")
    results.push(
      await measureServer(target, () =>
        startLavashServer({
          bin: resolve(values["lavash-bin"]),
          cwd: root,
          model: modelPath,
          threads,
          parallel,
          ctxSize,
          extraArgs: values["lavash-arg"],
          logPath: join(logDir, `lavash-memory-${process.pid}.log`),
          onStartupLine: noop,
          onWaiting: noop,
          startupTimeoutMs: 300_000,
        }),
      ),
    );
  else if (target === "llama-server") {
    const bin = findLlamaServer(root, values["peer-bin"] ?? null);
    const port = await freePort();
    results.push(
      await measureServer(target, () =>
        startServerProcess({
          command: bin,
          args: llamaServerArgs({
            modelPath,
            port,
            threads,
            parallel,
            ctxPerSequence: ctxSize,
            batchSize: LAVASH_BATCH_SIZE,
            extraArgs: values["peer-arg"],
          }),
          cwd: root,
          env: process.env,
          baseUrl: `http://127.0.0.1:${port}`,
          logPath: join(logDir, `llama-server-memory-${process.pid}.log`),
          onStartupLine: noop,
          onWaiting: noop,
          startupTimeoutMs: 300_000,
        }),
      ),
    );
  } else throw new Error(`unknown target ${target} (bare, lavash, llama-server)`);
  process.stdout.write(
    `${JSON.stringify({ model: values.model, parallel, ctxSize, threads, streams, tokens, rounds, ...results.at(-1) })}\n`,
  );
}

const mib = (n: number): string => (n / 2 ** 20).toFixed(0).padStart(6);
process.stderr.write(
  `\n${values.model}, ${parallel} sequences x ${ctxSize} (KV of ${parallel * ctxSize} cells), ${threads} threads; load: ${rounds} x ${streams} streams x ${tokens} tokens (MiB)\n` +
    "target        idle rss  anon  file | load peak rss  anon  file | VmHWM | tree pids\n",
);
for (const r of results)
  process.stderr.write(
    `${r.target.padEnd(13)} ${mib(r.idle.rss)}${mib(r.idle.anon)}${mib(r.idle.file)} |    ${mib(r.load.rss)}${mib(r.load.anon)}${mib(r.load.file)} |${mib(r.hwm)} | ${r.idleTree.pids}\n`,
  );
