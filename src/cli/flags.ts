// Flags of the client commands (chat, complete, models, pull): one table per command gives both
// the parser's options and the --help text, so the two cannot disagree.
import { parseArgs } from "node:util";
import { formatTable } from "../bench/table.js";

export interface FlagDoc {
  name: string;
  /** Empty for a switch. */
  value: string;
  help: string;
  default: string;
  /** May be given more than once. */
  repeatable?: boolean;
  /** Other spellings, as peers write them (`-m`, `-ngl`, `--n-gpu-layers`); see expandAliases. */
  aliases?: readonly string[];
}

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * `Usage: ...`, a description, and one line per flag with its default. Short aliases go in a
 * column before the flag (`-m, --model`), long ones after its help.
 */
export function commandHelp(usage: string, description: string, flags: readonly FlagDoc[]): string {
  const labels = flags.map((f) => `--${f.name} ${f.value}`.trim());
  const width = Math.max(24, ...labels.map((l) => l.length));
  const shortAliases = (f: FlagDoc): string =>
    (f.aliases ?? [])
      .filter((a) => !a.startsWith("--"))
      .map((a) => `${a}, `)
      .join("");
  const prefixWidth = Math.max(0, ...flags.map((f) => shortAliases(f).length));
  const row = (prefix: string, label: string, help: string): string =>
    `  ${prefix.padStart(prefixWidth)}${label.padEnd(width)} ${help}`;
  const rows = flags.map((f, i) => {
    const longAliases = (f.aliases ?? []).filter((a) => a.startsWith("--"));
    const help = longAliases.length > 0 ? `${f.help}; also ${longAliases.join(", ")}` : f.help;
    return row(shortAliases(f), labels[i]!, f.default === "" ? help : `${help} (default: ${f.default})`);
  });
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${rows.join("\n")}\n${row(prefixWidth > 0 ? "-h, " : "", "--help", "show this help")}`;
}

/**
 * Rewrites each alias in `args` to its flag's own name (`-ngl 99` → `--gpu-layers 99`,
 * `-c=512` → `--ctx-size=512`), for parseArgs, whose short options are one character. A flag's
 * value is never rewritten, nor anything after `--`.
 */
export function expandAliases(args: readonly string[], flags: readonly FlagDoc[]): string[] {
  const canonical = new Map<string, FlagDoc>();
  for (const f of flags) {
    canonical.set(`--${f.name}`, f);
    for (const alias of f.aliases ?? []) canonical.set(alias, f);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const eq = arg.indexOf("=");
    const flag = canonical.get(eq > 0 ? arg.slice(0, eq) : arg);
    if (flag === undefined) {
      out.push(arg);
      continue;
    }
    out.push(eq > 0 ? `--${flag.name}${arg.slice(eq)}` : `--${flag.name}`);
    // The next argument is this flag's value, whatever it looks like.
    if (eq < 0 && flag.value !== "" && i + 1 < args.length) out.push(args[++i]!);
  }
  return out;
}

export interface CommandSpec {
  /** After `Usage: lavash `. */
  usage: string;
  description: string;
  flags: readonly FlagDoc[];
  /** Whether arguments other than flags are taken. */
  positionals: boolean;
  /** Runs the command with its parsed flags; resolves to the exit code. */
  run(parsed: ParsedFlags): Promise<number>;
}

export interface Command {
  help(): string;
  /** Parses the arguments (--help prints the help), then runs; unknown flags throw. */
  run(args: string[]): Promise<number>;
}

export function defineCommand(spec: CommandSpec): Command {
  const help = (): string => commandHelp(`lavash ${spec.usage}`, spec.description, spec.flags);
  return {
    help,
    run: async (args) => {
      const parsed = parseFlags(args, spec.flags, spec.positionals);
      if (parsed !== null) return spec.run(parsed);
      console.log(help());
      return 0;
    },
  };
}

/** Parses `args` against the table; `null` when --help was given. Unknown flags throw. */
function parseFlags(args: string[], flags: readonly FlagDoc[], allowPositionals: boolean): ParsedFlags | null {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals,
    options: {
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(
        flags.map((f) => [f.name, { type: f.value === "" ? ("boolean" as const) : ("string" as const) }]),
      ),
    },
  });
  if (values.help === true) return null;
  return { values: values as ParsedFlags["values"], positionals };
}

/** A numeric flag's value, checked: undefined when not given. */
export function numberFlag(
  values: ParsedFlags["values"],
  name: string,
  range: { min: number; max?: number; integer?: boolean },
): number | undefined {
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  return parseNumber(`--${name}`, raw, range);
}

/** `raw` as a number within `range`, or an error naming `what`. */
export function parseNumber(
  what: string,
  raw: string,
  range: { min: number; max?: number; integer?: boolean },
): number {
  const n = Number(raw);
  const kind = range.integer === true ? "an integer" : "a number";
  const bounds = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
  if (
    raw.trim() === "" ||
    !Number.isFinite(n) ||
    (range.integer === true && !Number.isInteger(n)) ||
    n < range.min ||
    (range.max !== undefined && n > range.max)
  )
    throw new Error(`${what} must be ${kind} ${bounds}, got '${raw}'`);
  return n;
}

export function stringFlag(values: ParsedFlags["values"], name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** Left-aligned columns padded to their widest cell, no rule under the header. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return formatTable(
    header,
    rows,
    header.map(() => "left"),
    false,
  );
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
