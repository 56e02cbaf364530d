// Gateways for the tests: a lavash server whose --config names upstream groups.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LavashServer, startLavash } from "../../src/embed.js";

const dir = mkdtempSync(join(tmpdir(), "lavash-gateway-"));
let files = 0;

/** A lavash server serving `models` (upstream entries of --config) and `local` models. */
export async function startGateway(
  models: unknown[],
  options: { local?: string[]; flags?: string[]; apiKeys?: string[]; config?: Record<string, unknown> } = {},
): Promise<LavashServer> {
  const path = join(dir, `gateway-${++files}.json`);
  writeFileSync(path, JSON.stringify({ ...options.config, models }));
  return startLavash({
    ...(options.local ? { models: options.local } : {}),
    threads: 1,
    parallel: 2,
    contextSize: 1024,
    ...(options.apiKeys ? { apiKeys: options.apiKeys } : {}),
    flags: ["--config", path, "--no-store", ...(options.flags ?? [])],
  });
}

/** A tiny-model lavash upstream (one thread: the machine is shared); `store`: it keeps Responses API responses. */
export function startUpstream(port = 0, options: { store?: boolean } = {}): Promise<LavashServer> {
  return startLavash({
    models: ["builtin:tiny"],
    threads: 1,
    parallel: 2,
    contextSize: 1024,
    port,
    flags: options.store ? ["--responses-db", join(dir, `responses-${++files}.sqlite`)] : ["--no-store"],
  });
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** One series' value from a Prometheus text exposition, or undefined. */
export function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(" ").pop());
  }
  return undefined;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
