// llama.cpp's own server as the bench's peer (`--peer llama-server`): where the binary that
// bench/build-llama-server.sh builds lives, and the command line that makes it serve the same GGUF
// as lavash with the same threads, context per sequence, batch and sampling. Pure except for the
// file checks; the command line is unit-tested.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** What builds the binary; every "not built" message names it. */
export const LLAMA_SERVER_BUILD_COMMAND = "bash bench/build-llama-server.sh";

/**
 * The llama.cpp release node-llama-cpp bundles (its `llama.cpp.info.json` tag): the build
 * script names its cache folder after it, so an upgrade of node-llama-cpp needs a new build.
 */
export function bundledLlamaCppRelease(root: string): string {
  const infoPath = join(root, "node_modules", "node-llama-cpp", "llama", "llama.cpp.info.json");
  let info: { tag?: unknown };
  try {
    info = JSON.parse(readFileSync(infoPath, "utf8")) as { tag?: unknown };
  } catch {
    throw new Error(
      `${infoPath} is missing or unreadable: run 'npm install' first (node-llama-cpp ships the llama.cpp source the peer is built from)`,
    );
  }
  if (typeof info.tag !== "string" || info.tag.length === 0) throw new Error(`${infoPath} names no release tag`);
  return info.tag;
}

/** The same folder as the build script: $LAVASH_LLAMA_SERVER_DIR, else $XDG_CACHE_HOME or ~/.cache, /lavash/llama-server. */
export function llamaServerCacheRoot(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.LAVASH_LLAMA_SERVER_DIR) return env.LAVASH_LLAMA_SERVER_DIR;
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(home, ".cache"), "lavash", "llama-server");
}

export function llamaServerBinaryPath(release: string, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(llamaServerCacheRoot(env, home), release, "bin", "llama-server");
}

export function missingLlamaServerMessage(path: string, explicit: boolean): string {
  return explicit
    ? `--peer-bin ${path}: no such file. Point it at a llama-server binary, or leave it out and build the bundled one with: ${LLAMA_SERVER_BUILD_COMMAND}`
    : `llama-server is not built (${path} is missing). Build it from the llama.cpp source node-llama-cpp bundles ` +
        `(about 11 minutes on 2 cores, cached afterwards) with:\n  ${LLAMA_SERVER_BUILD_COMMAND}\nthen run this again (or pass --peer-bin PATH to use another build).`;
}

/** The binary to start: `--peer-bin`, else the cached build of the bundled release; throws, naming the build command, when absent. */
export function findLlamaServer(root: string, explicit: string | null, env: NodeJS.ProcessEnv = process.env): string {
  const path = explicit ?? llamaServerBinaryPath(bundledLlamaCppRelease(root), env);
  if (!existsSync(path)) throw new Error(missingLlamaServerMessage(path, explicit !== null));
  return path;
}

export interface LlamaServerSetup {
  modelPath: string;
  port: number;
  threads: number;
  /** Sequences served at once (llama-server's slots). */
  parallel: number;
  /** Context of one sequence, as lavash's --ctx-size means it. */
  ctxPerSequence: number;
  /** Tokens per decode: lavash's --batch-size (node-llama-cpp uses it for both n_batch and n_ubatch). */
  batchSize: number;
  /** Appended last, so they can override any default below (--peer-arg). */
  extraArgs: readonly string[];
}

/**
 * llama-server flags equivalent to `lavash serve --threads T --parallel P --ctx-size C`.
 *
 * - `-c` is the total context shared by the `-np` slots; with the KV cache not unified each slot
 *   gets `-c / -np` cells, as each lavash sequence gets its own `--ctx-size`: so `-c` is C × P, and
 *   both servers allocate the same KV cache (the peak-RSS comparison depends on it).
 * - `-b`/`-ub` as node-llama-cpp sets them (n_ubatch = n_batch = lavash's batch size); flash
 *   attention "auto" on both.
 * - Sampling as lavash's: temperature from the request over the whole vocabulary, no top-k/top-p/
 *   min-p truncation and no repetition penalty (llama-server's defaults apply top-k 40, top-p 0.95
 *   and min-p 0.05, which would sample from a few candidates instead of 152k).
 * - Prompt caching stays as llama-server ships it (`--cache-prompt`, and `--cache-ram` keeping
 *   prompts of idle slots in host memory): the comparison is of the servers as users run them;
 *   `--peer-arg=--cache-ram --peer-arg=0` turns the host cache off.
 */
export function llamaServerArgs(s: LlamaServerSetup): string[] {
  return [
    "--model",
    s.modelPath,
    "--host",
    "127.0.0.1",
    "--port",
    String(s.port),
    "--threads",
    String(s.threads),
    "--threads-batch",
    String(s.threads),
    "--parallel",
    String(s.parallel),
    "--ctx-size",
    String(s.ctxPerSequence * s.parallel),
    "--no-kv-unified",
    "--batch-size",
    String(s.batchSize),
    "--ubatch-size",
    String(s.batchSize),
    "--flash-attn",
    "auto",
    "--top-k",
    "0",
    "--top-p",
    "1",
    "--min-p",
    "0",
    "--repeat-penalty",
    "1",
    "--no-webui",
    ...s.extraArgs,
  ];
}

/** lavash serve's default --batch-size, which bench does not change: the peer gets the same. */
export const LAVASH_BATCH_SIZE = 512;
