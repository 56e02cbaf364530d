// A consumer project that installs lavash from its packed tarball, as a user would, with no network:
// `npm ci --offline` against a lock built from lavash's own lock, so every dependency comes from the
// npm cache that lavash's own `npm ci` filled (npm ci needs no registry metadata, only tarballs).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
  license: string;
}

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  tarball: string;
  /** Bytes of the .tgz. */
  size: number;
  files: PackedFile[];
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** `npm pack` of the checkout at `root` (its prepare script builds dist/ first) into `destination`. */
export function pack(root: string, destination: string): Packed {
  const out = execFileSync(npm, ["pack", "--json", "--pack-destination", destination], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The prepare script's own output precedes npm's JSON on stdout.
  const [report] = JSON.parse(out.slice(out.indexOf("[\n"))) as {
    filename: string;
    size: number;
    files: PackedFile[];
  }[];
  if (report === undefined) throw new Error(`npm pack reported nothing:\n${out}`);
  return { tarball: join(destination, report.filename), size: report.size, files: report.files };
}

/**
 * Writes package.json and package-lock.json of a project depending on the tarball alone, then
 * installs it offline. The lock lists lavash's production dependencies exactly as lavash's own lock
 * resolved them (same hoisted layout), so a dependency missing from `dependencies` fails here.
 */
export function installConsumer(root: string, packed: Packed, dir: string): void {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as Lock;
  const tarball = basename(packed.tarball);
  copyFileSync(packed.tarball, join(dir, tarball));
  const spec = `file:${tarball}`;
  const integrity = `sha512-${createHash("sha512").update(readFileSync(packed.tarball)).digest("base64")}`;
  const packages: Record<string, LockEntry> = {
    "": { name: "consumer", dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages))
    if (path !== "" && entry.dev !== true) packages[path] = entry;
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify(
      { name: "consumer", private: true, type: "module", dependencies: { [manifest.name]: spec } },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ name: "consumer", lockfileVersion: 3, requires: true, packages }, null, 2),
  );
  execFileSync(npm, ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Every bare specifier (a package or `node:` builtin) reachable from `entry` through relative
 * imports of the emitted JavaScript: what importing that entry loads beyond its own files.
 */
export function bareImports(entry: string): Set<string> {
  const bare = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) {
      const specifier = match[1] as string;
      if (specifier.startsWith(".")) visit(join(file, "..", specifier));
      else bare.add(specifier);
    }
  };
  visit(entry);
  return bare;
}
