// `lavash <command>` (serve, make-model, bench, chat, complete, models, pull): the command line entry point (bin/lavash.cjs loads it after setting up the
// process environment). Each command is imported when it runs, so `--help` and `--version` load
// neither fastify nor node-llama-cpp.
import { readFileSync } from "node:fs";

const commands: Record<string, { run: (args: string[]) => Promise<number>; summary: string }> = {
  serve: {
    run: async (args) => (await import("./serve.js")).serveCommand(args),
    summary: "Serve the OpenAI API over local GGUF models",
  },
  "make-model": {
    run: async (args) => (await import("./make-model.js")).makeModelCommand(args),
    summary: "Generate a built-in random-weight test model (GGUF)",
  },
  bench: {
    run: async (args) => (await import("./bench.js")).benchCommand(args),
    summary: "Benchmark a streaming server (default: starts lavash serve) against llama-server figures",
  },
  chat: {
    run: async (args) => (await import("./chat.js")).chat.run(args),
    summary: "Chat with a model interactively (a server at --url, or --model loaded in-process)",
  },
  complete: {
    run: async (args) => (await import("./complete.js")).complete.run(args),
    summary: "Stream one completion of a prompt (argument or stdin) to stdout",
  },
  models: {
    run: async (args) => (await import("./models.js")).models.run(args),
    summary: "List the GGUF models on this machine, or with --url a server's models",
  },
  pull: {
    run: async (args) => (await import("./pull.js")).pull.run(args),
    summary: "Download hf:owner/repo[:quant], or generate builtin:<preset>",
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `Usage: lavash <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'lavash <command> --help' for a command's options; 'lavash --version' for the version.`;
}

/** The package's version: package.json is two levels up from both src/cli and dist/cli. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === "--help" || name === "-h" || name === "help") {
  console.log(usage());
  process.exitCode = name === undefined ? 1 : 0;
} else if (name === "--version" || name === "-v" || name === "version") {
  // `-v` and `version` as Ollama has them; `--version` as llama-server and most tools.
  console.log(`lavash ${version()}`);
} else if (!(name in commands)) {
  console.error(`lavash: unknown command '${name}'\n\n${usage()}`);
  process.exitCode = 1;
} else {
  try {
    process.exitCode = await commands[name]!.run(args);
  } catch (error) {
    console.error(`lavash ${name}: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
