// `--model [alias=]source` values. Kept apart from model-source.ts so that parsing the command
// line does not load node-llama-cpp (`lavash serve --help` stays fast).
import { basename } from "node:path";
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
