// Structured logs (pino, JSON lines) for machines; readable lines when a person watches a terminal.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  if (process.stdout.isTTY)
    return pino({ level, transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss", ignore: "pid,hostname" } } });
  return pino({ level });
}
