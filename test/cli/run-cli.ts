// Runs `node bin/lavash.cjs ...` as a child process for the command-line tests: with stdin fed from
// a string (a pipe, so not a terminal), or inside a pseudo-terminal through util-linux `script`.
import { type ChildProcess, spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import type { LlamaEngineOptions } from "../../src/engine/llama/llama-engine.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { fileURLToPath } from "node:url";

export const LAVASH = fileURLToPath(new URL("../../bin/lavash.cjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end (killed after `timeoutMs`, which fails the call). */
export function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [LAVASH, ...args], { env: { ...process.env, ...options.env }, stdio: "pipe" });
  child.stdin.end(options.input ?? "");
  return collect(child, options.timeoutMs ?? 60_000, args.join(" "));
}

function collect(child: ChildProcessWithoutNullStreams, timeoutMs: number, what: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`lavash ${what}: still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServeProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT of the server. */
  readonly root: string;
  /** Its stdout lines and stderr output so far. */
  readonly log: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * `lavash serve ARGS --host 127.0.0.1 --port 0` as a child process, resolved once it listens and
 * GET /health says its models are loaded (fails after 60 s each). The caller kills it.
 */
export async function startServeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, [LAVASH, "serve", "--host", "127.0.0.1", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
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
      void exited.then((code) => reject(new Error(`lavash serve exited (${code}):\n${log.join("\n")}`)));
    });
    for (let i = 0; ; i++) {
      const status = await fetch(`${root}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return { child, root, log, exited };
      if (i >= 600) throw new Error(`models not loaded within 60 s:\n${log.join("\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** Whether util-linux `script` (a pseudo-terminal without node-pty) is installed. */
export function hasScript(): boolean {
  return spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences start with ESC
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * `lavash ARGS` in a pseudo-terminal: stdin, stdout and stderr are a terminal, so readline runs in
 * terminal mode (prompt, raw keys, Ctrl-D). `output` is what the terminal shows, escape codes removed.
 */
export class PtySession {
  private readonly child: ChildProcessWithoutNullStreams;
  private raw = "";
  private readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    const command = [process.execPath, LAVASH, ...args].map(shellQuote).join(" ");
    this.child = spawn("script", ["-qfec", command, "/dev/null"], {
      stdio: "pipe",
      env: { ...process.env, TERM: "xterm" },
    });
    const onData = (d: Buffer): void => void (this.raw += d.toString("utf8"));
    this.child.stdout.on("data", onData);
    this.child.stderr.on("data", onData);
    this.exited = new Promise((resolve) => this.child.on("close", resolve));
  }

  get output(): string {
    return this.raw.replace(ANSI, "").replace(/\r/g, "");
  }

  /** Types `text` (a terminal sends Enter as \r). */
  type(text: string): void {
    this.child.stdin.write(text);
  }

  /** Waits until `test` holds for the output (fails after `timeoutMs`). */
  async waitFor<T>(what: string, test: (output: string) => T | undefined | false, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = test(this.output);
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline)
        throw new Error(`waiting for ${what}: not seen within ${timeoutMs} ms; the terminal shows:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The exit code (the session is killed after `timeoutMs`, which fails the call). */
  async exit(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`the chat did not exit within ${timeoutMs} ms; the terminal shows:\n${this.output}`));
      }, timeoutMs);
    });
    return Promise.race([this.exited, late]).finally(() => clearTimeout(timer));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The chat's stats lines: `N tokens in S s, R tokens/s (prompt P tokens[, C cached])`. */
export function statsLines(text: string): { completion: number; prompt: number }[] {
  return [...text.matchAll(/(\d+) tokens in [\d.]+ s, [\d.]+ tokens\/s \(prompt (\d+) tokens/g)].map((m) => ({
    completion: Number(m[1]),
    prompt: Number(m[2]),
  }));
}

/** A loopback API base URL nothing listens on. */
export async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/v1`;
}

/** A real server with `tiny` for the enclosing describe(): started before its tests, closed after. */
export function useTestServer(overrides: Partial<LlamaEngineOptions> = {}): () => TestServer {
  let server: TestServer | undefined;
  before(async () => {
    server = await startTestServer(overrides);
  });
  after(async () => {
    await server?.close();
  });
  return () => {
    if (server === undefined) throw new Error("the test server has not started");
    return server;
  };
}

/** A temporary directory for the enclosing describe(), removed after its tests. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error("the temporary directory has not been made");
    return dir;
  };
}
