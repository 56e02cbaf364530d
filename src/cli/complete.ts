// `lavash complete [PROMPT]`: one completion, streamed to stdout. The prompt is the arguments, or
// stdin when there are none (or `-`); --chat sends it as a user message to the chat endpoint
// instead of the legacy completions endpoint.
import { text } from "node:stream/consumers";
import type { ChatCompletionCreateParams, CompletionCreateParams, Lavash } from "../client/index.js";
import { defineCommand, type FlagDoc, type ParsedFlags } from "./flags.js";
import { explain, openTarget, parseSampling, samplingFlags, targetFlags } from "./target.js";

const DEFAULT_MAX_TOKENS = 256;

const flags: FlagDoc[] = [
  ...targetFlags,
  ...samplingFlags(String(DEFAULT_MAX_TOKENS)),
  {
    name: "chat",
    value: "",
    help: "send the prompt as a user message to /v1/chat/completions (the model's chat template applies)",
    default: "/v1/completions, the prompt as is",
  },
];

export const complete = defineCommand({
  usage: "complete [options] [PROMPT...]",
  description: "Streams one completion of PROMPT to stdout. Without PROMPT (or with -) the prompt is read from stdin.",
  flags,
  positionals: true,
  run,
});

async function run({ values, positionals }: ParsedFlags): Promise<number> {
  const sampling = parseSampling(values);
  const max_tokens = sampling.max_tokens ?? DEFAULT_MAX_TOKENS;
  const fromStdin = positionals.length === 0 || (positionals.length === 1 && positionals[0] === "-");
  if (fromStdin && process.stdin.isTTY) process.stderr.write("reading the prompt from stdin (end it with Ctrl-D)\n");
  const prompt = fromStdin ? await text(process.stdin) : positionals.join(" ");

  const target = await openTarget(values);
  try {
    const pieces =
      values.chat === true
        ? chatPieces(target.client, {
            model: target.model,
            messages: [{ role: "user", content: prompt }],
            ...sampling,
            max_tokens,
          })
        : legacyPieces(target.client, { model: target.model, prompt, ...sampling, max_tokens });
    let last = "";
    for await (const piece of pieces) {
      process.stdout.write(piece);
      last = piece;
    }
    if (!last.endsWith("\n")) process.stdout.write("\n");
    return 0;
  } catch (error) {
    throw explain(error, target.url);
  } finally {
    await target.close();
  }
}

async function* chatPieces(client: Lavash, body: ChatCompletionCreateParams): AsyncGenerator<string> {
  for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) {
    const content = chunk.choices[0]?.delta.content;
    if (content) yield content;
  }
}

async function* legacyPieces(client: Lavash, body: CompletionCreateParams): AsyncGenerator<string> {
  for await (const chunk of await client.completions.create({ ...body, stream: true })) {
    const piece = chunk.choices[0]?.text;
    if (piece) yield piece;
  }
}
