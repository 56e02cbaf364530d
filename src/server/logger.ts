// Structured logs (pino, JSON lines) for machines; in a terminal, one readable line per entry
// (and per request: method, path, status, duration, tokens, tokens/s) for the person watching.
import { type Logger, pino } from "pino";

export type { Logger };

export interface LoggerOptions {
  /**
   * Where terminal lines go (each ends in a newline); default: stdout. The serve command passes
   * a writer that keeps its progress line below them.
   */
  writeLines?: (lines: string) => void;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  if (!process.stdout.isTTY) return pino({ level });
  const colors = process.stdout.hasColors?.() === true && process.env.NO_COLOR === undefined;
  const write = options.writeLines ?? ((lines: string) => void process.stdout.write(lines));
  // pino writes each entry as one JSON string, synchronously: reformatted here, in order.
  return pino({ level }, { write: (json: string) => write(`${formatEntry(JSON.parse(json) as LogEntry, colors)}\n`) });
}

/** A pino entry: its own fields plus whatever the call site logged. */
export interface LogEntry {
  level: number;
  time: number;
  msg?: string;
  [field: string]: unknown;
}

const LEVELS: Record<number, { label: string; color: number }> = {
  10: { label: "TRACE", color: 90 },
  20: { label: "DEBUG", color: 90 },
  30: { label: "INFO ", color: 32 },
  40: { label: "WARN ", color: 33 },
  50: { label: "ERROR", color: 31 },
  60: { label: "FATAL", color: 31 },
};
/** Fields every entry has, or that the line shows in its own way. */
const SHOWN = new Set(["level", "time", "pid", "hostname", "msg", "reqId", "err"]);

/** One entry as terminal text: a line, plus an indented stack for an error. */
export function formatEntry(entry: LogEntry, colors = false): string {
  const paint = (code: number, text: string): string => (colors ? `\x1b[${code}m${text}\x1b[0m` : text);
  const time = paint(2, new Date(entry.time).toTimeString().slice(0, 8));
  const { label, color } = LEVELS[entry.level] ?? { label: String(entry.level), color: 0 };
  if (entry.msg === "request" && typeof entry.method === "string") return `${time} ${requestLine(entry, paint)}`;
  const extras = Object.entries(entry)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("");
  const reqId = typeof entry.reqId === "string" ? paint(2, ` ${entry.reqId}`) : "";
  let text = `${time} ${paint(color, label)} ${entry.msg ?? ""}${extras}${reqId}`;
  const err = entry.err as { message?: string; stack?: string } | undefined;
  if (err !== undefined) text += `\n${(err.stack ?? err.message ?? String(err)).replace(/^/gm, "    ")}`;
  return text;
}

/** `POST /v1/chat/completions 200 1.23 s tiny: 12 prompt + 48 completion tokens, 39.0 tok/s` */
function requestLine(entry: LogEntry, paint: (code: number, text: string) => string): string {
  const status = Number(entry.status);
  const ms = Number(entry.ms);
  const statusColor = status >= 500 ? 31 : status >= 400 ? 33 : 32;
  let line = `${entry.method} ${String(entry.url)} ${paint(statusColor, String(status))} ${ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms} ms`}`;
  if (typeof entry.model === "string") line += ` ${entry.model}`;
  const prompt = entry.promptTokens;
  const completion = entry.completionTokens;
  if (typeof prompt === "number" || typeof completion === "number") {
    const cached =
      typeof entry.cachedPromptTokens === "number" && entry.cachedPromptTokens > 0
        ? ` (${entry.cachedPromptTokens} cached)`
        : "";
    line += `: ${typeof prompt === "number" ? prompt : 0}${cached} prompt`;
    if (typeof completion === "number") {
      line += ` + ${completion} completion tokens`;
      if (completion > 0 && ms > 0) line += `, ${(completion / (ms / 1000)).toFixed(1)} tok/s`;
    } else line += " tokens";
  }
  if (entry.completed === false) line += paint(33, " (client went away)");
  return line;
}
