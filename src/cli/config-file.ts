// `lavash serve --config FILE`: the serve flags as a YAML or JSON file, plus per-model settings.
//
//   port: 8080
//   keep-alive: 600            # any serve flag, by its name (ctx-size or ctx_size)
//   models:
//     - id: small
//       source: /models/qwen2.5-0.5b-instruct-q8_0.gguf
//       ctx-size: 8192         # per model: ctx-size, parallel, threads, gpu-layers
//       parallel: 8
//     - builtin:tiny           # or a --model value
//     - id: chat               # or an upstream group (src/gateway/config.ts, docs/gateway.md)
//       replicas: [{ base_url: http://10.0.0.1:8000/v1, model: Qwen/Qwen2.5-7B-Instruct }]
//   keys:                      # client keys with a name (for /metrics) and their own limits
//     - { name: team-a, key_env: TEAM_A_KEY, rpm: 60, tpm: 100000 }
//
// Flags given on the command line win over the file.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseModelSpec, type ModelSpec } from "../engine/llama/model-spec.js";
import { isUpstreamEntry, parseUpstreamModel, type UpstreamModel } from "../gateway/config.js";

const count = (min: number) => z.int().min(min);

const modelEntry = z.union([
  z.string().min(1),
  z.strictObject({
    id: z.string().min(1).optional(),
    source: z.string().min(1),
    "ctx-size": count(16).optional(),
    parallel: count(1).optional(),
    threads: count(1).optional(),
    "gpu-layers": count(0).optional(),
  }),
]);

const flagValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]);

const keyEntry = z
  .strictObject({
    name: z.string().regex(/^[\w.:-]+$/, "a name of letters, digits, _ . : -"),
    key: z.string().min(1).optional(),
    key_env: z.string().min(1).optional(),
    rpm: count(0).optional(),
    tpm: count(0).optional(),
  })
  .refine((e) => (e.key === undefined) !== (e.key_env === undefined), "give one of key and key_env");

/** A client key of the file's `keys` (src/server/auth.ts): limits absent take the flags' defaults. */
export interface ConfigKey {
  key: string;
  name: string;
  rpm?: number;
  tpm?: number;
}

export interface ConfigFile {
  /** Flag name → value, as the command line would give it. */
  flags: Map<string, string | string[] | boolean>;
  models: ModelSpec[];
  /** Models served by upstream replicas (entries with `replicas`), in file order. */
  upstreams: UpstreamModel[];
  /** Named client keys with their limits (`keys`). */
  keys: ConfigKey[];
}

/** Reads and checks the file; errors name the file and the offending key. */
export function readConfigFile(path: string, knownFlags: ReadonlySet<string>): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`--config ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(
      `--config ${path} is not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${(error as Error).message}`,
    );
  }
  if (data === null || typeof data !== "object" || Array.isArray(data))
    throw new Error(`--config ${path} must hold a mapping of flag names to values`);
  const flags = new Map<string, string | string[] | boolean>();
  let models: ModelSpec[] = [];
  const upstreams: UpstreamModel[] = [];
  let keys: ConfigKey[] = [];
  for (const [rawKey, value] of Object.entries(data)) {
    const key = rawKey.replace(/_/g, "-");
    if (key === "models") {
      if (!Array.isArray(value)) throw new Error(`--config ${path}: models: must be a list`);
      const local = value.filter((entry) => !isUpstreamEntry(entry));
      value.forEach((entry, i) => {
        if (isUpstreamEntry(entry)) {
          const id = (entry as { id?: unknown }).id;
          const where = `--config ${path}: models[${i}]${typeof id === "string" ? ` (${id})` : ""}`;
          upstreams.push(parseUpstreamModel(entry, where));
        }
      });
      const parsed = z.array(modelEntry).safeParse(local);
      if (!parsed.success) throw new Error(`--config ${path}: models: ${z.prettifyError(parsed.error)}`);
      models = parsed.data.map(toSpec);
      continue;
    }
    if (key === "keys") {
      keys = parseKeys(value, `--config ${path}: keys`);
      continue;
    }
    if (!knownFlags.has(key) || key === "config")
      throw new Error(`--config ${path}: unknown setting '${rawKey}' (use the names of lavash serve's flags)`);
    const parsed = flagValue.safeParse(value);
    if (!parsed.success) throw new Error(`--config ${path}: '${rawKey}' must be a string, number, boolean or list`);
    const v = parsed.data;
    flags.set(key, typeof v === "boolean" ? v : Array.isArray(v) ? v.map(String) : String(v));
  }
  return { flags, models, upstreams, keys };
}

function parseKeys(value: unknown, where: string): ConfigKey[] {
  if (!Array.isArray(value)) throw new Error(`${where}: must be a list`);
  const names = new Set<string>();
  return value.map((raw, i) => {
    const entry =
      raw !== null && typeof raw === "object" && !Array.isArray(raw)
        ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/-/g, "_"), v]))
        : raw;
    const parsed = keyEntry.safeParse(entry);
    if (!parsed.success) throw new Error(`${where}[${i}]: ${z.prettifyError(parsed.error)}`);
    const { name, key, key_env, rpm, tpm } = parsed.data;
    if (names.has(name)) throw new Error(`${where}[${i}]: two keys are named '${name}'`);
    names.add(name);
    let secret = key;
    if (key_env !== undefined) {
      secret = process.env[key_env]?.trim();
      if (!secret) throw new Error(`${where}[${i}] (${name}): the environment variable ${key_env} is not set`);
    }
    if (secret === undefined || /\s/.test(secret))
      throw new Error(
        `${where}[${i}] (${name}): a key must hold no spaces (it is sent as \`Authorization: Bearer KEY\`)`,
      );
    return { key: secret, name, ...(rpm !== undefined ? { rpm } : {}), ...(tpm !== undefined ? { tpm } : {}) };
  });
}

function toSpec(entry: z.output<typeof modelEntry>): ModelSpec {
  if (typeof entry === "string") return parseModelSpec(entry);
  const base = parseModelSpec(entry.id ? `${entry.id}=${entry.source}` : entry.source);
  return {
    ...base,
    ...(entry["ctx-size"] !== undefined ? { contextSize: entry["ctx-size"] } : {}),
    ...(entry.parallel !== undefined ? { parallel: entry.parallel } : {}),
    ...(entry.threads !== undefined ? { threads: entry.threads } : {}),
    ...(entry["gpu-layers"] !== undefined ? { gpuLayers: entry["gpu-layers"] } : {}),
  };
}
