// LlamaEngine.matchCache on the real tiny model: what a generation would reuse of its prompt,
// read from the sequences without evaluating anything (the gateway's exact cache probe).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EngineError } from "../../../src/engine/errors.js";
import { LlamaEngine } from "../../../src/engine/llama/llama-engine.js";
import type { ChatMessage, GenerateRequest, PromptInput } from "../../../src/engine/types.js";
import { testEngineOptions } from "../../helpers/server.js";

let engine: LlamaEngine;
before(async () => {
  engine = new LlamaEngine(testEngineOptions({ parallel: 2, threads: 1 }));
  await engine.ready;
});
after(async () => {
  await engine?.close();
});

const SYSTEM = "You are a terse assistant for a shipping company. Answer in one short sentence. ".repeat(4);

function request(prompt: PromptInput, extra: Partial<GenerateRequest> = {}): GenerateRequest {
  return { model: "tiny", prompt, maxTokens: 4, stop: [], sampling: { temperature: 0, topP: 1 }, ...extra };
}

async function run(req: GenerateRequest): Promise<number> {
  let cached = -1;
  for await (const event of await engine.generate(req))
    if (event.type === "usage") cached = event.usage.cachedPromptTokens;
  return cached;
}

const chat = (messages: ChatMessage[]): PromptInput => ({ kind: "chat", messages });

describe("LlamaEngine.matchCache", () => {
  it("reports the prefix a chat continuation shares with a finished request, as the request then reuses", async () => {
    const first: ChatMessage[] = [
      { role: "system", content: SYSTEM },
      { role: "user", content: "Where is parcel 1234?" },
    ];
    await run(request(chat(first)));
    const next: ChatMessage[] = [
      ...first,
      { role: "assistant", content: "In transit." },
      { role: "user", content: "When?" },
    ];
    const { tokens: firstTokens } = await engine.tokenize("tiny", { kind: "chat", messages: first });
    const match = await engine.matchCache(request(chat(next)));
    const { tokens } = await engine.tokenize("tiny", { kind: "chat", messages: next });
    assert.equal(match.promptTokens, tokens.length);
    let shared = 0;
    while (shared < firstTokens.length && firstTokens[shared] === tokens[shared]) shared++;
    assert.ok(match.cachedTokens >= shared - 1, `${match.cachedTokens} cached, ${shared} shared`);
    assert.ok(match.cachedTokens < match.promptTokens);
    // The generation then reuses exactly what the probe said.
    assert.equal(await run(request(chat(next))), match.cachedTokens);
  });

  it("reports nothing for an unrelated prompt, and all but the last two tokens of one already held", async () => {
    const text = "Completely unrelated text about mountains and rivers, ".repeat(3);
    const unrelated = await engine.matchCache(request({ kind: "text", text: `zebra ${text}` }));
    assert.ok(unrelated.cachedTokens <= 1, `${unrelated.cachedTokens} cached`);
    await run(request({ kind: "text", text }));
    const again = await engine.matchCache(request({ kind: "text", text }));
    assert.equal(again.cachedTokens, again.promptTokens - 2);
    // Echo with logprobs scores every prompt position: nothing is reused.
    const echo = await engine.matchCache(request({ kind: "text", text }, { echo: true, logprobs: 0 }));
    assert.equal(echo.cachedTokens, 0);
  });

  it("evaluates only the last prompt token again for a request without a seed, and the probe says so", async () => {
    const text = "A prompt sent twice, once with a seed and once without, about lighthouses. ".repeat(3);
    const random = { temperature: 0.8, topP: 1 };
    const seeded = { ...random, seed: 42 };
    await run(request({ kind: "text", text }, { sampling: seeded }));
    // A seeded (or greedy) request must not depend on the cache: two tokens again.
    const probeSeeded = await engine.matchCache(request({ kind: "text", text }, { sampling: seeded }));
    assert.equal(probeSeeded.cachedTokens, probeSeeded.promptTokens - 2);
    assert.equal(await run(request({ kind: "text", text }, { sampling: seeded })), probeSeeded.cachedTokens);
    // A fresh random seed promises nothing across requests: the last token only, as llama-server.
    const probeRandom = await engine.matchCache(request({ kind: "text", text }, { sampling: random }));
    assert.equal(probeRandom.cachedTokens, probeRandom.promptTokens - 1);
    assert.equal(await run(request({ kind: "text", text }, { sampling: random })), probeRandom.cachedTokens);
    // A probe that does not say how it samples counts as seeded.
    const { sampling: _, ...unsaid } = request({ kind: "text", text });
    assert.equal((await engine.matchCache(unsaid)).cachedTokens, probeSeeded.cachedTokens);
  });

  it("counts token prompts and leaves the scheduler untouched", async () => {
    const before = engine.status();
    const match = await engine.matchCache(request({ kind: "tokens", tokens: [15, 16, 17, 18] }));
    assert.equal(match.promptTokens, 4);
    assert.deepEqual(engine.status().stats, before.stats);
  });

  it("refuses what generate refuses, with the same typed errors", async () => {
    await assert.rejects(
      engine.matchCache(request({ kind: "text", text: "hi" }, { model: "nope" })),
      (e: unknown) => e instanceof EngineError && e.kind === "model_not_found" && e.field === "model",
    );
    await assert.rejects(
      engine.matchCache(request({ kind: "tokens", tokens: [1, 10_000_000] })),
      (e: unknown) => e instanceof EngineError && e.kind === "token_out_of_vocabulary",
    );
    await assert.rejects(
      engine.matchCache(request({ kind: "text", text: "hi" }, { maxTokens: 5000 })),
      (e: unknown) => e instanceof EngineError && e.kind === "context_length_exceeded",
    );
  });
});
