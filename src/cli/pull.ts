// `lavash pull SRC`: fetches a model ahead of serving it. hf:owner/repo[:quant] (or a https:// URL
// of a .gguf) downloads through node-llama-cpp into its models directory, where
// `serve --model hf:...` finds it; builtin:<preset> generates the preset into the model cache
// (no network). The file's path goes to stdout alone; progress and errors go to stderr.
import { resolve } from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { huggingFaceEndpoint, reachable } from "../engine/llama/download-host.js";
import { ensureBuiltinModel, listPresets } from "../models/builtin.js";
import { defineCommand, type FlagDoc, formatBytes, numberFlag, type ParsedFlags, stringFlag } from "./flags.js";
import { defaultDownloadDir } from "./models.js";
import { progressReporter } from "./progress.js";

const flags: FlagDoc[] = [
  {
    name: "dir",
    value: "DIR",
    help: "where the file goes",
    default:
      "hf: ~/.node-llama-cpp/models (where serve --model hf:... looks); builtin: $LAVASH_CACHE_DIR or ~/.cache/lavash/models",
  },
  {
    name: "timeout",
    value: "SECONDS",
    help: "how long to wait for the download host to answer before reporting it unreachable",
    default: "15",
  },
];

export const pull = defineCommand({
  usage: "pull [options] SRC",
  description:
    "Downloads a model, or generates a built-in one, and prints its path. SRC: hf:owner/repo[:quant] (needs internet;\n" +
    `$HF_ENDPOINT picks a mirror), a https:// URL of a .gguf file, or builtin:<preset> (${listPresets()
      .map((p) => p.name)
      .join(", ")}; offline).`,
  flags,
  positionals: true,
  run,
});

async function run({ values, positionals }: ParsedFlags): Promise<number> {
  const [source, ...extra] = positionals;
  if (source === undefined || extra.length > 0)
    throw new Error(`expected one model source, got ${positionals.length}\n\n${pull.help()}`);
  const dir = stringFlag(values, "dir");
  let path: string;
  if (source.startsWith("builtin:")) path = await pullBuiltin(source.slice("builtin:".length), dir);
  else if (source.startsWith("hf:") || /^https?:\/\//.test(source))
    path = await download(source, dir, (numberFlag(values, "timeout", { min: 0.1 }) ?? 15) * 1000);
  else
    throw new Error(
      `'${source}' is not something to pull: give hf:owner/repo[:quant], a https:// URL, or builtin:<preset>`,
    );
  console.log(path);
  return 0;
}

async function pullBuiltin(preset: string, dir: string | undefined): Promise<string> {
  if (!listPresets().some((p) => p.name === preset))
    throw new Error(
      `unknown built-in preset '${preset}'; presets: ${listPresets()
        .map((p) => p.name)
        .join(", ")}`,
    );
  const progress = progressReporter();
  return ensureBuiltinModel(preset, {
    cacheDir: dir === undefined ? undefined : resolve(dir),
    onProgress: (p) => {
      if (p.stage === "weights") progress(`generating ${preset}`, p.fraction);
    },
  });
}

async function download(source: string, dir: string | undefined, timeoutMs: number): Promise<string> {
  const directory = resolve(dir ?? defaultDownloadDir());
  // Already there: no network needed (node-llama-cpp looks for the names the source may have).
  const present = await resolveModelFile(source, { directory, download: false, cli: false }).catch(() => undefined);
  if (present !== undefined) {
    process.stderr.write(`already downloaded\n`);
    return present;
  }
  const endpoint = source.startsWith("hf:") ? huggingFaceEndpoint() : source;
  const host = new URL(endpoint).host;
  if (!(await reachable(endpoint, timeoutMs)))
    throw new Error(`cannot reach ${host}: check your connection (lavash pull needs internet)`);

  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error("cancelled"));
  process.once("SIGINT", onSigint);
  const bar = downloadBar(source);
  try {
    return await resolveModelFile(source, { directory, cli: false, signal: controller.signal, onProgress: bar.update });
  } catch (error) {
    throw new Error(`could not download ${source}: ${(error as Error).message}`);
  } finally {
    bar.end();
    process.off("SIGINT", onSigint);
  }
}

/**
 * `[#########           ]  45%  238.1 MB / 531.1 MB  21.4 MB/s` on stderr: redrawn in place on a
 * terminal (at most 10 times a second), a line per 10% otherwise.
 */
function downloadBar(label: string): {
  update: (s: { totalSize: number; downloadedSize: number }) => void;
  end: () => void;
} {
  const stream = process.stderr;
  const started = performance.now();
  let lastDraw = 0;
  let lastDecile = -1;
  let drawn = false;
  process.stderr.write(`downloading ${label}\n`);
  return {
    update: ({ totalSize, downloadedSize }) => {
      const now = performance.now();
      const fraction = totalSize > 0 ? Math.min(1, downloadedSize / totalSize) : 0;
      const seconds = (now - started) / 1000;
      const speed = seconds > 0 ? `${formatBytes(downloadedSize / seconds)}/s` : "";
      const width = 24;
      const filled = Math.round(fraction * width);
      const line = `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(downloadedSize)} / ${formatBytes(totalSize)}  ${speed}`;
      if (stream.isTTY) {
        if (now - lastDraw < 100 && fraction < 1) return;
        lastDraw = now;
        stream.write(`\r${line}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`${line}\n`);
    },
    end: () => {
      if (drawn) stream.write("\n");
    },
  };
}
