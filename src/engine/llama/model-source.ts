// Where a served model's GGUF file comes from: a built-in generated test model, a local path,
// or a Hugging Face reference resolved (and downloaded) by node-llama-cpp.
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { ensureBuiltinModel, listPresets } from "../../models/builtin.js";
import { EngineError } from "../errors.js";
import type { ModelSource } from "../types.js";

export type ModelSpec = ModelSource;

/**
 * Parses a `--model` value: `[alias=]source`. Without an alias the id is the preset name, the
 * Hugging Face repository (`owner/repo`), or the file name without `.gguf`.
 */
export function parseModelSpec(value: string): ModelSpec {
  const eq = value.indexOf("=");
  const hasAlias = eq > 0 && !value.slice(0, eq).includes("/") && !value.startsWith("hf:");
  const source = hasAlias ? value.slice(eq + 1) : value;
  const id = hasAlias ? value.slice(0, eq) : defaultModelId(source);
  return { id, source };
}

function defaultModelId(source: string): string {
  if (source.startsWith("builtin:")) return source.slice("builtin:".length);
  if (source.startsWith("hf:")) return source.slice(3).split(":")[0]!;
  return basename(source).replace(/\.gguf$/i, "");
}

export interface ResolveProgress {
  stage: string;
  fraction: number;
}

export async function resolveModelPath(
  source: string,
  options: { cacheDir?: string; onProgress?: (p: ResolveProgress) => void },
): Promise<string> {
  if (source.startsWith("builtin:")) {
    const preset = source.slice("builtin:".length);
    if (!listPresets().some((p) => p.name === preset))
      throw new EngineError("model_not_found", `Unknown built-in model '${preset}'. Available: ${listPresets().map((p) => p.name).join(", ")}.`);
    return ensureBuiltinModel(preset, { cacheDir: options.cacheDir, onProgress: options.onProgress });
  }
  if (source.startsWith("hf:")) {
    try {
      return await resolveModelFile(source, {
        cli: false,
        onProgress: ({ totalSize, downloadedSize }) =>
          options.onProgress?.({ stage: "download", fraction: totalSize > 0 ? downloadedSize / totalSize : 0 }),
      });
    } catch (error) {
      throw new EngineError(
        "internal",
        `Could not download ${source}: ${(error as Error).message}. Downloading from Hugging Face needs internet access; ` +
          "on an offline machine copy the .gguf file over and pass its path to --model.",
      );
    }
  }
  if (!existsSync(source)) throw new EngineError("internal", `Model file not found: ${source}. Pass a .gguf path, hf:owner/repo:quant, or builtin:tiny.`);
  return source;
}
