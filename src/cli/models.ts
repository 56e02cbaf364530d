// `lavash models`: with --url, the models a server serves (GET /v1/models); otherwise the GGUF
// files on this machine: the built-in model cache and node-llama-cpp's download directory (where
// `serve --model hf:...` and `lavash pull` put files), each file's header read for its
// architecture, quantization and context length.
import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { GgufFileType, readGgufFileInfo } from "node-llama-cpp";
import { Lavash } from "../client/index.js";
import { defaultCacheDir } from "../models/builtin.js";
import { defineCommand, formatBytes, renderTable, stringFlag, type FlagDoc, type ParsedFlags } from "./flags.js";
import { explain } from "./target.js";

/** node-llama-cpp's default download directory (its `cliModelsDirectory`, not exported). */
export function defaultDownloadDir(): string {
  return join(homedir(), ".node-llama-cpp", "models");
}

const flags: FlagDoc[] = [
  {
    name: "url",
    value: "URL",
    help: "list the models a server serves (GET URL/models) instead of the files here",
    default: "none: list files",
  },
  {
    name: "api-key",
    value: "KEY",
    help: "with --url: sent as `Authorization: Bearer KEY`",
    default: "$LAVASH_API_KEY or none",
  },
  {
    name: "cache-dir",
    value: "DIR",
    help: "built-in model cache to list",
    default: "$LAVASH_CACHE_DIR or ~/.cache/lavash/models",
  },
  {
    name: "download-dir",
    value: "DIR",
    help: "downloaded models to list (node-llama-cpp's directory)",
    default: "~/.node-llama-cpp/models",
  },
];

export const models = defineCommand({
  usage: "models [options]",
  description:
    "Lists the GGUF models on this machine (size, architecture, quantization, context length), or with --url the models a server serves.",
  flags,
  positionals: false,
  run,
});

async function run({ values }: ParsedFlags): Promise<number> {
  const url = stringFlag(values, "url");
  if (url !== undefined) {
    const list = await new Lavash({ baseURL: url, apiKey: stringFlag(values, "api-key"), maxRetries: 0 }).models
      .list()
      .catch((error: unknown) => {
        throw explain(error, url);
      });
    const rows = list.data.map((m) => [
      m.id,
      m.owned_by,
      new Date(m.created * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
    ]);
    console.log(renderTable(["ID", "OWNED BY", "CREATED"], rows));
    return 0;
  }
  const dirs = [
    resolve(stringFlag(values, "cache-dir") ?? defaultCacheDir()),
    resolve(stringFlag(values, "download-dir") ?? defaultDownloadDir()),
  ];
  const rows: string[][] = [];
  for (const dir of new Set(dirs)) rows.push(...(await listDir(dir)));
  if (rows.length === 0) {
    console.log(`no GGUF files in ${[...new Set(dirs)].join(" or ")}`);
    return 0;
  }
  console.log(renderTable(["SIZE", "ARCH", "QUANT", "CONTEXT", "PATH"], rows));
  return 0;
}

/** One row per .gguf file of `dir` (none when it does not exist). */
async function listDir(dir: string): Promise<string[][]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const rows: string[][] = [];
  for (const name of names.sort()) {
    if (!name.toLowerCase().endsWith(".gguf") || name.startsWith(".")) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    rows.push([formatBytes(info.size), ...(await describe(path)), path]);
  }
  return rows;
}

// Most of a header's bytes; skipping them makes reading it about a third faster.
const VOCABULARY_KEYS = ["tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"];

/** Architecture, quantization and context length from the file's header; "?" for a file that does not parse. */
async function describe(path: string): Promise<string[]> {
  try {
    const { metadata, architectureMetadata } = await readGgufFileInfo(path, {
      readTensorInfo: false,
      logWarnings: false,
      spliceSplitFiles: false,
      ignoreKeys: VOCABULARY_KEYS,
    });
    const fileType = metadata.general.file_type;
    const context = (architectureMetadata as { context_length?: number }).context_length;
    return [
      String(metadata.general.architecture),
      fileType === undefined ? "-" : quantName(fileType),
      context === undefined ? "-" : String(context),
    ];
  } catch {
    return ["?", "?", "?"];
  }
}

/** `general.file_type` as the quantization's usual name: 7 → Q8_0, 1 → F16, 0 → F32. */
export function quantName(fileType: number): string {
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
  return name === undefined ? `type ${fileType}` : name.replace(/^(MOSTLY|ALL)_/, "");
}
