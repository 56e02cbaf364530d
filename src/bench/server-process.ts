// Servers as child processes for the benchmark (`lavash serve`, or llama-server as the peer): each
// in its own process, so the HTTP client's work and the server's are separate, as they are for
// real clients, and its peak memory is its own.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

export interface ServeOptions {
  /** Path of bin/lavash.cjs. */
  bin: string;
  cwd: string;
  model: string;
  threads: number;
  parallel: number;
  ctxSize: number;
  /** More `lavash serve` flags (e.g. --prefill-chunk N). */
  extraArgs?: string[];
  /** Server stdout and stderr go here (its logs are JSON lines). */
  logPath: string;
  /** Lines the server prints while starting (model generation and load progress). */
  onStartupLine: (line: string) => void;
  /** Called every few seconds while waiting for /health. */
  onWaiting: (elapsedMs: number) => void;
  startupTimeoutMs: number;
}

export interface StopResult {
  /** Peak resident set size (VmHWM) just before the stop signal; null off Linux. */
  peakRssBytes: number | null;
  exitCode: number | null;
  signal: string | null;
  /** Whether SIGTERM was not enough and SIGKILL was sent. */
  killed: boolean;
}

export interface ServerProcess {
  baseUrl: string;
  pid: number;
  args: string[];
  startupMs: number;
  logPath: string;
  stop(graceMs?: number): Promise<StopResult>;
}

/** A port the OS had free a moment ago (another process could still take it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** A `/proc/<pid>/status` size field (e.g. VmHWM, VmRSS) in bytes, or null when absent. */
export function parseProcStatusBytes(status: string, field: string): number | null {
  const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

export function readProcStatusBytes(pid: number, field: string): number | null {
  try {
    return parseProcStatusBytes(readFileSync(`/proc/${pid}/status`, "utf8"), field);
  } catch {
    return null;
  }
}

const live = new Set<ChildProcess>();

/** Registers a child for killChildren(); it is forgotten once it exits. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** Kills children that are still running (bench interrupted): they would hold the port and CPU. */
export function killChildren(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

/**
 * Until the returned function is called, SIGINT and SIGTERM kill the children and exit (130/143):
 * they are in bench's process group, but a SIGTERM sent to bench alone would orphan them. The
 * returned function removes the handlers and kills what is still running.
 */
export function killChildrenOnSignal(log: (line: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    killChildren();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    killChildren();
  };
}

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
): Promise<{ exitCode: number | null; signal: string | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return { exitCode: child.exitCode, signal: child.signalCode, killed: false };
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
  live.delete(child);
  return { exitCode: child.exitCode, signal: child.signalCode, killed };
}

export async function startLavashServer(options: ServeOptions): Promise<ServerProcess> {
  const port = await freePort();
  const args = [
    options.bin,
    "serve",
    "--model",
    options.model,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--parallel",
    String(options.parallel),
    "--threads",
    String(options.threads),
    "--ctx-size",
    String(options.ctxSize),
    ...(options.extraArgs ?? []),
  ];
  return startServerProcess({
    command: process.execPath,
    args,
    // The args recorded in the results leave out node's own path.
    recordedArgs: args.slice(1),
    cwd: options.cwd,
    // bench runs through bin/lavash.cjs: the server gets its libuv pool size (one thread per CPU,
    // or the user's UV_THREADPOOL_SIZE), as `lavash serve` does.
    env: process.env,
    baseUrl: `http://127.0.0.1:${port}`,
    logPath: options.logPath,
    onStartupLine: options.onStartupLine,
    onWaiting: options.onWaiting,
    startupTimeoutMs: options.startupTimeoutMs,
  });
}

export interface ProcessServeOptions {
  command: string;
  args: string[];
  /** What the results record as the server's arguments (default: `args`). */
  recordedArgs?: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where the server will listen once healthy (its port is in `args`). */
  baseUrl: string;
  logPath: string;
  onStartupLine: (line: string) => void;
  onWaiting: (elapsedMs: number) => void;
  startupTimeoutMs: number;
}

/**
 * Any HTTP server as a child process: started, its output logged, ready once GET /health answers
 * 200 (lavash and llama-server both answer so only after the model is loaded).
 */
export async function startServerProcess(options: ProcessServeOptions): Promise<ServerProcess> {
  const started = performance.now();
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  const log = createWriteStream(options.logPath, { flags: "a" });
  child.stdout!.pipe(log, { end: false });
  // The last lines are kept for the error message when the server dies while starting.
  const tail: string[] = [];
  let starting = true;
  createInterface({ input: child.stderr! }).on("line", (line) => {
    log.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (starting && line.trim().length > 0) options.onStartupLine(line);
  });
  child.once("exit", () => log.end());
  const exitedEarly = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(`the server exited while starting (code ${code}, signal ${signal})`));
    child.once("error", (e) => resolve(`could not start the server: ${e.message}`));
  });

  try {
    await waitHealthy(options.baseUrl, options.startupTimeoutMs, exitedEarly, options.onWaiting);
  } catch (error) {
    await stopChild(child, 2000);
    const stderrTail = tail.length > 0 ? `\nserver stderr (last lines):\n${tail.join("\n")}` : "";
    throw new Error(`${(error as Error).message}; server log: ${options.logPath}${stderrTail}`);
  } finally {
    starting = false;
  }
  return {
    baseUrl: options.baseUrl,
    pid: child.pid!,
    args: options.recordedArgs ?? options.args,
    startupMs: performance.now() - started,
    logPath: options.logPath,
    stop: async (graceMs = 10_000) => {
      const peakRssBytes = readProcStatusBytes(child.pid!, "VmHWM");
      return { peakRssBytes, ...(await stopChild(child, graceMs)) };
    },
  };
}

async function waitHealthy(
  baseUrl: string,
  timeoutMs: number,
  exitedEarly: Promise<string>,
  onWaiting: (ms: number) => void,
): Promise<void> {
  const start = performance.now();
  let lastReport = start;
  let failure: string | null = null;
  void exitedEarly.then((m) => (failure = m));
  for (;;) {
    if (failure !== null) throw new Error(failure);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    const now = performance.now();
    if (now - start > timeoutMs) throw new Error(`the server was not healthy after ${Math.round(timeoutMs / 1000)} s`);
    if (now - lastReport >= 5000) {
      lastReport = now;
      onWaiting(now - start);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface MemoryReading {
  pid: number;
  /** VmHWM when sampling stopped: the process's peak since it started (model load included). */
  vmHwmBytes: number | null;
  /** Largest VmRSS seen while sampling (for a server bench did not start, its peak during the run). */
  sampledMaxRssBytes: number | null;
  samples: number;
}

/** VmHWM where the kernel reports it, else the sampled maximum. */
export function peakRss(m: MemoryReading | null): number | null {
  return m === null ? null : (m.vmHwmBytes ?? m.sampledMaxRssBytes);
}

/** Samples a process's VmRSS every `intervalMs` until stopped; reads VmHWM at the stop. */
export function sampleMemory(pid: number, intervalMs = 500): { stop(): MemoryReading } {
  let max: number | null = null;
  let samples = 0;
  const sample = (): void => {
    const rss = readProcStatusBytes(pid, "VmRSS");
    if (rss === null) return;
    samples++;
    max = max === null ? rss : Math.max(max, rss);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  let reading: MemoryReading | null = null;
  return {
    stop: () => {
      if (reading === null) {
        clearInterval(timer);
        sample();
        reading = { pid, vmHwmBytes: readProcStatusBytes(pid, "VmHWM"), sampledMaxRssBytes: max, samples };
      }
      return reading;
    },
  };
}
