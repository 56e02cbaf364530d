// Built-in models: generated on first use into a cache directory, then reused.
import { mkdir, readdir, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ggufFileSize, tensorByteSize, writeGguf } from "./gguf-writer.js";
import { getPreset, PRESETS, presetParameterCount, type ModelPreset } from "./presets.js";
import { qwen2Metadata, qwen2Tensors } from "./qwen2-gguf.js";

/**
 * Part of every file name. Bump it whenever the bytes a preset produces change (writer, weights,
 * vocabulary, template, metadata), so that files from an older generator are not reused.
 */
export const GENERATOR_VERSION = 2;

export interface BuiltinProgress {
  /** "cached": the file existed; "vocabulary": building the header; "weights": writing tensors; "done". */
  stage: "cached" | "vocabulary" | "weights" | "done";
  fraction: number;
}

export interface EnsureBuiltinOptions {
  cacheDir?: string;
  onProgress?: (p: BuiltinProgress) => void;
}

export interface PresetInfo {
  name: string;
  description: string;
  parameters: number;
  /** Approximate file size: exact tensor bytes plus an estimate of the vocabulary header. */
  approxBytes: number;
}

/** `$LAVASH_CACHE_DIR`, else `$XDG_CACHE_HOME/lavash/models`, else `~/.cache/lavash/models`. */
export function defaultCacheDir(): string {
  if (process.env.LAVASH_CACHE_DIR) return process.env.LAVASH_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), ".cache"), "lavash", "models");
}

export function builtinModelFileName(preset: string): string {
  return `lavash-${getPreset(preset).name}-g${GENERATOR_VERSION}.gguf`;
}

export function builtinModelPath(preset: string, cacheDir?: string): string {
  return join(cacheDir ?? defaultCacheDir(), builtinModelFileName(preset));
}

// The token strings, merges and types of a 152k vocabulary take about this much room in the header.
const VOCAB_HEADER_ESTIMATE = 6_000_000;

export function listPresets(): PresetInfo[] {
  return Object.values(PRESETS).map((p) => ({
    name: p.name,
    description: p.description,
    parameters: presetParameterCount(p),
    approxBytes: VOCAB_HEADER_ESTIMATE + qwen2Tensors(p).reduce((s, t) => s + tensorByteSize(t.shape, t.type), 0),
  }));
}

/** The exact size of a preset's file (loads the vocabulary to lay out the header). */
export function builtinModelSize(preset: string): number {
  const p = getPreset(preset);
  return ggufFileSize(qwen2Metadata(p), qwen2Tensors(p));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Temp files of generators that died (killed, out of disk) would otherwise pile up. */
async function removeStaleTempFiles(dir: string, fileName: string): Promise<void> {
  const dayMs = 24 * 3600 * 1000;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(`.${fileName}.`) || !name.endsWith(".tmp")) continue;
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s && Date.now() - s.mtimeMs > dayMs) await unlink(path).catch(() => {});
  }
}

/**
 * Generates a preset's GGUF file at `path` (any location: `make-model --out`), replacing the file
 * there only once the new one is complete.
 */
export async function writeBuiltinModel(
  preset: string,
  path: string,
  onProgress?: (p: BuiltinProgress) => void,
): Promise<void> {
  const p = getPreset(preset);
  await mkdir(dirname(path), { recursive: true });
  onProgress?.({ stage: "vocabulary", fraction: 0 });
  const metadata = qwen2Metadata(p);
  const tensors = qwen2Tensors(p);
  await writeGguf(path, metadata, tensors, {
    onProgress: (fraction) => onProgress?.({ stage: "weights", fraction }),
  });
  onProgress?.({ stage: "done", fraction: 1 });
}

async function generateIntoCache(
  p: ModelPreset,
  dir: string,
  path: string,
  onProgress: (p: BuiltinProgress) => void,
): Promise<string> {
  await removeStaleTempFiles(dir, builtinModelFileName(p.name));
  await writeBuiltinModel(p.name, path, onProgress);
  return path;
}

// Callers in one process asking for the same file share one generation (and its progress).
// Across processes each writes its own temp file and renames it into place; the outputs are
// identical, so whichever rename lands last changes nothing.
interface Job {
  done: Promise<string>;
  listeners: Set<(p: BuiltinProgress) => void>;
}
const inFlight = new Map<string, Job>();

/** Path of the preset's GGUF file in the cache, generating it first if it is not there. */
export async function ensureBuiltinModel(preset: string, opts: EnsureBuiltinOptions = {}): Promise<string> {
  const p = getPreset(preset);
  const dir = opts.cacheDir ?? defaultCacheDir();
  const path = join(dir, builtinModelFileName(p.name));
  let job = inFlight.get(path);
  if (!job) {
    if (await isFile(path)) {
      opts.onProgress?.({ stage: "cached", fraction: 1 });
      return path;
    }
    // Re-checked: another caller may have started the job while this one was in stat().
    job = inFlight.get(path);
  }
  if (!job) {
    const listeners = new Set<(p: BuiltinProgress) => void>();
    const done = generateIntoCache(p, dir, path, (progress) => listeners.forEach((l) => l(progress))).finally(() =>
      inFlight.delete(path),
    );
    job = { done, listeners };
    inFlight.set(path, job);
  }
  const listener = opts.onProgress;
  if (listener) job.listeners.add(listener);
  try {
    return await job.done;
  } finally {
    if (listener) job.listeners.delete(listener);
  }
}
