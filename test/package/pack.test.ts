// lavash as its users get it: the real tarball from `npm pack`, installed into an empty project
// (offline, from the npm cache), then imported from plain JavaScript, typechecked from strict
// TypeScript, and run through its bin.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { bareImports, installConsumer, pack, type Packed } from "./consumer-project.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

let work: string;
let consumer: string;
let packed: Packed;

before(() => {
  work = mkdtempSync(join(tmpdir(), "lavash-pack-"));
  consumer = join(work, "consumer");
  packed = pack(ROOT, work);
  mkdirSync(consumer);
  installConsumer(ROOT, packed, consumer);
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("the packed tarball", () => {
  it("holds the compiled package, its LICENSE and README, and no sources, tests, benchmarks or CI", () => {
    const paths = packed.files.map((f) => f.path);
    for (const expected of [
      "package.json",
      "LICENSE",
      "README.md",
      "bin/lavash.cjs",
      "dist/cli/main.js",
      "dist/client/index.js",
      "dist/client/index.d.ts",
      "dist/embed.js",
      "dist/embed.d.ts",
    ])
      assert.ok(paths.includes(expected), `${expected} is missing from the tarball`);
    const unwanted = paths.filter(
      (p) => /^(src|test|bench|\.ci)\//.test(p) || (p.endsWith(".ts") && !p.endsWith(".d.ts")) || p.endsWith(".map"),
    );
    assert.deepEqual(unwanted, []);
    const manifest = JSON.parse(readFileSync(join(consumer, "node_modules", "lavash", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.ok(
      !("tsx" in manifest.dependencies) && !("esbuild" in manifest.dependencies),
      "tsx/esbuild are development dependencies only",
    );
    console.log(`tarball: ${packed.files.length} files, ${(packed.size / 1024).toFixed(1)} KiB packed`);
  });
});

describe("lavash/client from the installed package", () => {
  it("is imported by plain JavaScript, and loads no server code (nothing but its own files)", async () => {
    const script = join(consumer, "import-client.mjs");
    writeFileSync(
      script,
      'import { Lavash, APIError } from "lavash/client";\n' +
        'const client = new Lavash({ baseURL: "http://127.0.0.1:9/v1" });\n' +
        "console.log(typeof client.chat.completions.create, typeof APIError);\n",
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumer });
    assert.equal(stdout.trim(), "function function");
    const entry = join(consumer, "node_modules", "lavash", "dist", "client", "index.js");
    assert.deepEqual([...bareImports(entry)], [], "the client imports packages or Node builtins");
  });

  for (const moduleResolution of ["NodeNext", "bundler"] as const) {
    it(`typechecks a strict TypeScript consumer (moduleResolution ${moduleResolution}, no @types/node)`, async () => {
      writeFileSync(
        join(consumer, "consumer.ts"),
        [
          'import { Lavash, RateLimitError, type ChatCompletion, type ChatCompletionCreateParams, type Completion } from "lavash/client";',
          'const client = new Lavash({ baseURL: "http://127.0.0.1:8080/v1", apiKey: "key", maxRetries: 1 });',
          'const params = { model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 } satisfies ChatCompletionCreateParams;',
          "export async function main(): Promise<string> {",
          "  const chat: ChatCompletion = await client.chat.completions.create(params);",
          "  const stream = await client.chat.completions.create({ ...params, stream: true });",
          "  let text = '';",
          "  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';",
          '  const legacy: Completion = await client.completions.create({ model: "tiny", prompt: "Hi", max_tokens: 2, logprobs: 2 });',
          "  const models = await client.models.list();",
          "  try { await client.embeddings.create({ model: 'tiny', input: 'x' }); } catch (e) { if (e instanceof RateLimitError) text += e.status; }",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a script the test writes
          "  return `${chat.choices[0]?.message.content ?? ''}${text}${legacy.choices[0]?.text ?? ''}${models.data.length}`;",
          "}",
          "",
        ].join("\n"),
      );
      const tsconfig = {
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noPropertyAccessFromIndexSignature: true,
          noUncheckedIndexedAccess: true,
          module: moduleResolution === "NodeNext" ? "NodeNext" : "ESNext",
          moduleResolution,
          target: "ES2022",
          // No @types/node: the default libraries (with the DOM's fetch types) are all a consumer has.
          types: [],
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["consumer.ts"],
      };
      writeFileSync(join(consumer, `tsconfig.${moduleResolution}.json`), JSON.stringify(tsconfig, null, 2));
      const result = await run(process.execPath, [TSC, "-p", `tsconfig.${moduleResolution}.json`], {
        cwd: consumer,
      }).catch((error: { stdout?: string; code?: number }) => ({
        stdout: error.stdout ?? String(error),
        code: error.code,
      }));
      assert.equal(result.stdout.trim(), "", `tsc reported errors:\n${result.stdout}`);
    });
  }
});

describe("lavash (the server API) from the installed package", () => {
  it("starts a server in-process with startLavash, answers the packaged client, and closes", async () => {
    const script = join(consumer, "embed.mjs");
    writeFileSync(
      script,
      'import { startLavash } from "lavash";\n' +
        'import { Lavash } from "lavash/client";\n' +
        'const server = await startLavash({ contextSize: 512, parallel: 1, threads: 2, apiKeys: ["k1"] });\n' +
        'const client = new Lavash({ baseURL: server.baseURL, apiKey: "k1" });\n' +
        'const res = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 3, seed: 2 });\n' +
        "await server.close();\n" +
        "console.log(JSON.stringify({ port: server.port, baseURL: server.baseURL, usage: res.usage }));\n",
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumer, timeout: 120_000 });
    const out = JSON.parse(stdout) as { port: number; baseURL: string; usage: { completion_tokens: number } };
    assert.ok(out.port > 0);
    assert.equal(out.baseURL, `http://127.0.0.1:${out.port}/v1`);
    assert.equal(out.usage.completion_tokens, 3);
  });

  it("rejects a model that cannot load, leaving nothing running (the process ends by itself)", async () => {
    const script = join(consumer, "embed-missing.mjs");
    writeFileSync(
      script,
      'import { startLavash } from "lavash";\n' +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a script the test writes
        'try { await startLavash({ models: ["./missing.gguf"] }); console.log("started"); } catch (e) { console.log(`rejected: ${e.message}`); }\n',
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumer, timeout: 60_000 });
    assert.match(stdout, /^rejected: .*missing\.gguf/m);
  });
});

describe("the installed bin", () => {
  let server: ChildProcess | undefined;
  after(() => {
    server?.kill("SIGKILL");
  });

  it("prints the version with npx lavash --version", async () => {
    const { stdout } = await run("npx", ["--no-install", "lavash", "--version"], { cwd: consumer });
    assert.match(stdout.trim(), new RegExp(`^(lavash )?v?${version.replaceAll(".", "\\.")}$`));
  });

  it("serves the built-in model with lavash serve, answering the packaged client", async () => {
    const port = await freePort();
    // The bin link npx would run, started directly: a signal must reach the server itself.
    server = spawn(
      join(consumer, "node_modules", ".bin", "lavash"),
      ["serve", "--port", String(port), "--ctx-size", "512", "--parallel", "1", "--threads", "2"],
      {
        cwd: consumer,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    server.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    server.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    await waitForHealth(`http://127.0.0.1:${port}/health`, 60_000, () => output);
    const script = join(consumer, "complete.mjs");
    writeFileSync(
      script,
      'import { Lavash } from "lavash/client";\n' +
        `const client = new Lavash({ baseURL: "http://127.0.0.1:${port}/v1" });\n` +
        'const res = await client.completions.create({ model: "tiny", prompt: "Hello", max_tokens: 4, seed: 1 });\n' +
        "console.log(JSON.stringify(res));\n",
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumer });
    const completion = JSON.parse(stdout) as {
      object: string;
      choices: { text: string }[];
      usage: { completion_tokens: number };
    };
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.usage.completion_tokens, 4);
    assert.equal(typeof completion.choices[0]?.text, "string");
    const exited = new Promise<number | null>((resolve) => server?.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    assert.equal(await exited, 0);
    server = undefined;
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function waitForHealth(url: string, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not healthy after ${timeoutMs} ms; server output:\n${output()}`);
}
