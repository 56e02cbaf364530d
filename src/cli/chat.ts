// `lavash chat`: an interactive chat. Answers stream token by token; the history is kept and sent
// with every turn; after each answer a dim line gives its tokens and speed. Commands: /system,
// /temp, /reset, /help, /exit (or Ctrl-D). Ctrl-C stops an answer, or quits between answers.
// Without a terminal (pipes, tests) it reads stdin line by line, with no prompt. The exit code is
// 1 when an answer failed, else 0.
import { createInterface } from "node:readline";
import { APIUserAbortError, type ChatCompletionMessageParam, type CompletionUsage } from "../client/index.js";
import { defineCommand, parseNumber, stringFlag, type FlagDoc } from "./flags.js";
import {
  explain,
  openTarget,
  parseSampling,
  samplingFlags,
  targetFlags,
  type Sampling,
  type Target,
} from "./target.js";

const flags: FlagDoc[] = [
  ...targetFlags,
  { name: "system", value: "TEXT", help: "system prompt", default: "none" },
  ...samplingFlags("until the turn ends"),
];

const COMMANDS = `Commands:
  /system TEXT   set the system prompt (/system alone removes it)
  /temp T        set the temperature, 0 to 2 (/temp alone shows it)
  /reset         forget the conversation (the system prompt stays)
  /help          this list
  /exit          quit (also Ctrl-D)
  Ctrl-C         stop the answer being written (between answers: quit)`;

export const chat = defineCommand({
  usage: "chat [options]",
  description:
    "Chats with a model: type a message, the answer streams back. The conversation is kept until /reset.\n\n" +
    COMMANDS,
  flags,
  positionals: false,
  run: async ({ values }) => {
    const sampling = parseSampling(values);
    const system = stringFlag(values, "system");
    const target = await openTarget(values);
    try {
      return await new ChatRepl(target, sampling, system).run();
    } finally {
      await target.close();
    }
  },
});

class ChatRepl {
  private history: ChatCompletionMessageParam[] = [];
  private readonly terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  private answering: AbortController | null = null;
  private failed = false;

  constructor(
    private readonly target: Target,
    private readonly sampling: Sampling,
    private system: string | undefined,
  ) {}

  async run(): Promise<number> {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: this.terminal, prompt: "> " });
    // Ctrl-C (a terminal only: elsewhere it is the process's signal) stops an answer, or quits.
    rl.on("SIGINT", () => {
      if (this.answering) this.answering.abort();
      else rl.close();
    });
    note(`chatting with ${this.target.model} at ${this.target.url}; /help for commands, /exit or Ctrl-D to quit`);
    if (this.terminal) rl.prompt();
    for await (const line of rl) {
      if ((await this.handle(line.trim())) === "exit") break;
      if (this.terminal) rl.prompt();
    }
    rl.close();
    return this.failed ? 1 : 0;
  }

  private async handle(line: string): Promise<"exit" | undefined> {
    if (line === "") return;
    if (!line.startsWith("/")) {
      await this.answer(line);
      return;
    }
    const space = line.indexOf(" ");
    const command = space < 0 ? line : line.slice(0, space);
    const arg = space < 0 ? "" : line.slice(space + 1).trim();
    switch (command) {
      case "/exit":
      case "/quit":
        return "exit";
      case "/reset":
        this.history = [];
        note("conversation cleared");
        return;
      case "/system":
        this.system = arg === "" ? undefined : arg;
        note(arg === "" ? "system prompt removed" : "system prompt set");
        return;
      case "/temp":
      case "/temperature":
        if (arg !== "") {
          try {
            this.sampling.temperature = parseNumber("the temperature", arg, { min: 0, max: 2 });
          } catch (error) {
            note((error as Error).message);
            return;
          }
        }
        note(`temperature ${this.sampling.temperature ?? "1 (the server's default)"}`);
        return;
      case "/help":
        note(COMMANDS);
        return;
      default:
        note(`unknown command ${command}; /help lists them`);
    }
  }

  private async answer(text: string): Promise<void> {
    const user: ChatCompletionMessageParam = { role: "user", content: text };
    const messages = [
      ...(this.system === undefined ? [] : [{ role: "system" as const, content: this.system }]),
      ...this.history,
      user,
    ];
    const controller = new AbortController();
    this.answering = controller;
    const started = performance.now();
    let content = "";
    let usage: CompletionUsage | undefined;
    let stopped = false;
    try {
      const stream = await this.target.client.chat.completions.create(
        { model: this.target.model, messages, stream: true, stream_options: { include_usage: true }, ...this.sampling },
        { signal: controller.signal },
      );
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta.content;
        if (piece) {
          process.stdout.write(piece);
          content += piece;
        }
        if (chunk.usage) usage = chunk.usage;
      }
    } catch (error) {
      if (!(error instanceof APIUserAbortError)) {
        if (content !== "" && !content.endsWith("\n")) process.stdout.write("\n");
        this.failed = true;
        note(`error: ${explain(error, this.target.url).message}`);
        return;
      }
      stopped = true;
    } finally {
      this.answering = null;
    }
    if (!content.endsWith("\n")) process.stdout.write("\n");
    if (stopped) note("(stopped)");
    // A stopped answer stays in the history as far as it got, as chat UIs keep it.
    this.history.push(user, { role: "assistant", content });
    if (usage) note(stats(usage, (performance.now() - started) / 1000));
  }
}

/** `12 tokens in 0.31 s, 38.7 tokens/s (prompt 25 tokens, 10 cached)` */
export function stats(usage: CompletionUsage, seconds: number): string {
  const rate = seconds > 0 ? usage.completion_tokens / seconds : 0;
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return (
    `${usage.completion_tokens} tokens in ${seconds.toFixed(2)} s, ${rate.toFixed(1)} tokens/s ` +
    `(prompt ${usage.prompt_tokens} tokens${cached > 0 ? `, ${cached} cached` : ""})`
  );
}

/** A line to stderr, dim on a terminal: it is about the chat, not part of it. */
function note(message: string): void {
  process.stderr.write(process.stderr.isTTY ? `\x1b[2m${message}\x1b[22m\n` : `${message}\n`);
}
