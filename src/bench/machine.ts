// What a result depends on besides the code: recorded with every run so that figures from
// different machines or commits are not compared by mistake.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export interface MachineInfo {
  cpuModel: string;
  logicalCores: number;
  physicalCores: number;
  totalMemoryBytes: number;
  loadAverage: number[];
  platform: string;
  kernel: string;
  nodeVersion: string;
  nodeLlamaCppVersion: string | null;
  gitCommit: string | null;
  /** Uncommitted changes in the tree the numbers came from. */
  gitDirty: boolean | null;
}

function git(cwd: string, args: string[]): string | null {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(root: string, physicalCores: number): MachineInfo {
  let nodeLlamaCppVersion: string | null = null;
  try {
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", "node-llama-cpp", "package.json"), "utf8")) as {
      version?: string;
    };
    nodeLlamaCppVersion = pkg.version ?? null;
  } catch {
    // not installed where expected
  }
  const status = git(root, ["status", "--porcelain"]);
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    logicalCores: os.availableParallelism(),
    physicalCores,
    totalMemoryBytes: os.totalmem(),
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
    platform: `${os.platform()}-${os.arch()}`,
    kernel: os.release(),
    nodeVersion: process.version,
    nodeLlamaCppVersion,
    gitCommit: git(root, ["rev-parse", "HEAD"]),
    gitDirty: status === null ? null : status.length > 0,
  };
}
