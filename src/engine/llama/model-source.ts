// Where a served model's GGUF file comes from: a built-in generated test model, a local path,
// or a Hugging Face reference resolved (and downloaded) by node-llama-cpp. Every failure here is
// an EngineError("load_failed") whose message says what to do.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { resolveModelFile } from "node-llama-cpp";
import { ensureBuiltinModel, listPresets } from "../../models/builtin.js";
import { EngineError } from "../errors.js";
import { huggingFaceEndpoint, reachable } from "./download-host.js";

export { type ModelSpec, parseModelSpec } from "./model-spec.js";

export interface ResolveProgress {
  stage: string;
  fraction: number;
}

/** How long the download host may take to answer before the source is reported unreachable. */
const HOST_TIMEOUT_MS = 15_000;
const SOURCES_HINT = "pass a .gguf file, hf:owner/repo[:quant] or builtin:tiny";

/**
 * The checks that need neither llama.cpp nor the network (a local file is a GGUF file, a
 * built-in preset exists), so that a wrong path fails in milliseconds rather than after
 * llama.cpp has started.
 */
export function checkModelSource(source: string): void {
  if (source.startsWith("builtin:")) checkPreset(source.slice("builtin:".length));
  else if (!source.startsWith("hf:")) checkGgufFile(source);
}

function checkPreset(preset: string): void {
  if (!listPresets().some((p) => p.name === preset))
    throw new EngineError(
      "load_failed",
      `unknown built-in model '${preset}'; built-in models: ${listPresets()
        .map((p) => p.name)
        .join(", ")}`,
      "source",
    );
}

export async function resolveModelPath(
  source: string,
  options: { cacheDir?: string; onProgress?: (p: ResolveProgress) => void },
): Promise<string> {
  if (source.startsWith("builtin:")) {
    const preset = source.slice("builtin:".length);
    checkPreset(preset);
    return ensureBuiltinModel(preset, { cacheDir: options.cacheDir, onProgress: options.onProgress });
  }
  if (source.startsWith("hf:")) {
    // Already downloaded: no network needed (node-llama-cpp looks for the names it may have).
    const present = await resolveModelFile(source, { download: false, cli: false }).catch(() => undefined);
    if (present !== undefined) return present;
    const host = new URL(huggingFaceEndpoint()).host;
    if (!(await reachable(huggingFaceEndpoint(), HOST_TIMEOUT_MS)))
      throw new EngineError(
        "load_failed",
        `cannot download ${source}: ${host} does not answer (offline?). Copy the .gguf file over and pass its path instead, ` +
          "or download it ahead with `lavash pull` where there is internet",
        "source",
      );
    try {
      return await resolveModelFile(source, {
        cli: false,
        onProgress: ({ totalSize, downloadedSize }) =>
          options.onProgress?.({ stage: "download", fraction: totalSize > 0 ? downloadedSize / totalSize : 0 }),
      });
    } catch (error) {
      throw new EngineError(
        "load_failed",
        `could not download ${source}: ${(error as Error).message}. Downloading from Hugging Face needs internet access; ` +
          "on an offline machine copy the .gguf file over and pass its path instead",
        "source",
      );
    }
  }
  checkGgufFile(source);
  return source;
}

/**
 * A local model must be a readable GGUF file. Checked here, from its first 4 bytes, because
 * llama.cpp's own failure on anything else is a log line and a generic error.
 */
function checkGgufFile(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new EngineError("load_failed", `${path} is a directory: ${SOURCES_HINT}`, "source");
    size = stat.size;
  } catch (error) {
    if (error instanceof EngineError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new EngineError(
      "load_failed",
      code === "ENOENT"
        ? `no such file: ${path} (${SOURCES_HINT})`
        : `cannot read ${path}: ${(error as Error).message}`,
      "source",
    );
  }
  const magic = Buffer.alloc(4);
  try {
    const fd = openSync(path, "r");
    try {
      readSync(fd, magic, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new EngineError("load_failed", `cannot read ${path}: ${(error as Error).message}`, "source");
  }
  if (size < 4 || magic.toString("latin1") !== "GGUF")
    throw new EngineError(
      "load_failed",
      `${path} is not a GGUF model file (it does not start with 'GGUF'): ${SOURCES_HINT}`,
      "source",
    );
}
