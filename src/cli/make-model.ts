// `lavash make-model [preset] [--out path] [--cache-dir dir]`: writes a built-in random-weight
// model. The path goes to stdout alone, so scripts can do `MODEL=$(lavash make-model tiny)`;
// progress and errors go to stderr.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { ensureBuiltinModel, listPresets, writeBuiltinModel, type BuiltinProgress } from "../models/builtin.js";
import { PRESETS } from "../models/presets.js";
import { formatBytes } from "./flags.js";

const USAGE = `usage: lavash make-model [preset] [--out path] [--cache-dir dir]

Generates a GGUF model with random weights and the real Qwen vocabulary, for tests and benchmarks.
Without --out the file goes to the model cache (--cache-dir, $LAVASH_CACHE_DIR, or
$XDG_CACHE_HOME/lavash/models) and is reused if it is already there. Prints the file's path.
Without a preset, lists the presets.`;

function printPresets(out: NodeJS.WritableStream): void {
  const rows = listPresets();
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const params = `${(r.parameters / 1e6).toFixed(1)}M params`;
    out.write(
      `${r.name.padEnd(width)}  ~${formatBytes(r.approxBytes).padStart(7)}  ${params.padStart(15)}  ${r.description}\n`,
    );
  }
}

/** A progress reporter: one line rewritten in place on a terminal, else a line per ~10%. */
function progressPrinter(label: string): { update: (p: BuiltinProgress) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    update: (p) => {
      if (p.stage === "cached") return;
      const pct = Math.floor(p.fraction * 100);
      if (tty) {
        process.stderr.write(`\r${label}: ${p.stage === "vocabulary" ? "building vocabulary" : `${pct}%`}\x1b[K`);
        drawn = true;
        return;
      }
      const decile = Math.floor(pct / 10);
      if (p.stage === "weights" && decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(`${label}: ${pct}%\n`);
      }
    },
    end: () => {
      if (drawn) process.stderr.write("\n");
    },
  };
}

function parseMakeModelArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string", short: "o" },
      "cache-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

export async function makeModelCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseMakeModelArgs>;
  try {
    parsed = parseMakeModelArgs(args);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`expected at most one preset, got: ${positionals.join(" ")}\n${USAGE}\n`);
    return 2;
  }
  const preset = positionals[0];
  if (preset === undefined) {
    printPresets(process.stdout);
    return 0;
  }
  if (!Object.hasOwn(PRESETS, preset)) {
    process.stderr.write(`unknown preset "${preset}"; known presets:\n`);
    printPresets(process.stderr);
    return 2;
  }

  const progress = progressPrinter(`generating ${preset}`);
  const started = performance.now();
  try {
    let path: string;
    if (values.out !== undefined) {
      path = resolve(values.out);
      await writeBuiltinModel(preset, path, progress.update);
    } else {
      const cacheDir = values["cache-dir"] !== undefined ? resolve(values["cache-dir"]) : undefined;
      path = await ensureBuiltinModel(preset, { cacheDir, onProgress: progress.update });
    }
    progress.end();
    const seconds = (performance.now() - started) / 1000;
    if (seconds > 0.5) process.stderr.write(`done in ${seconds.toFixed(1)} s\n`);
    process.stdout.write(`${path}\n`);
    return 0;
  } catch (err) {
    progress.end();
    process.stderr.write(`make-model failed: ${(err as Error).message}\n`);
    return 1;
  }
}
