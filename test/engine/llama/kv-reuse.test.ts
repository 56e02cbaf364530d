// Which free sequence a new prompt takes, on the real tiny model: a prompt that shares only the
// chat template's first tokens with a sequence's state must not overwrite it while an empty (or
// older) sequence is free; one that continues a sequence's state reuses it in place.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LlamaEngine } from "../../../src/engine/llama/llama-engine.js";
import type { ChatMessage, GenerateRequest } from "../../../src/engine/types.js";
import { testEngineOptions } from "../../helpers/server.js";

let engine: LlamaEngine;
before(async () => {
  engine = new LlamaEngine(testEngineOptions({ parallel: 3, threads: 1 }));
  await engine.ready;
});
after(async () => {
  await engine?.close();
});

function tenant(name: string): ChatMessage[] {
  return [
    {
      role: "system",
      content: `You answer for ${name}. ${`${name} keeps its own long instructions here. `.repeat(12)}`,
    },
    { role: "user", content: "Hello?" },
  ];
}

async function cachedTokens(messages: ChatMessage[]): Promise<{ cached: number; prompt: number }> {
  const req: GenerateRequest = {
    model: "tiny",
    prompt: { kind: "chat", messages },
    maxTokens: 4,
    stop: [],
    sampling: { temperature: 0, topP: 1 },
  };
  let usage = { cached: -1, prompt: -1 };
  for await (const event of await engine.generate(req))
    if (event.type === "usage") usage = { cached: event.usage.cachedPromptTokens, prompt: event.usage.promptTokens };
  return usage;
}

describe("KV reuse across tenants", () => {
  it("tenants A, B, C, then A again: A finds its system prompt still cached", async () => {
    const a = await cachedTokens(tenant("Acme"));
    assert.ok(a.prompt > 100, `a long prompt (${a.prompt} tokens)`);
    await cachedTokens(tenant("Borealis"));
    await cachedTokens(tenant("Cobalt"));
    // Three sequences, three tenants: each kept its own state.
    const again = await cachedTokens(tenant("Acme"));
    assert.equal(again.cached, again.prompt - 2, `A again: ${again.cached} of ${again.prompt} cached`);
  });

  it("a fourth tenant takes the least recently used sequence, and the others keep theirs", async () => {
    // Sequences hold Borealis, Cobalt, Acme (used in that order); Dune evicts Borealis.
    await cachedTokens(tenant("Dune"));
    const cobalt = await cachedTokens(tenant("Cobalt"));
    assert.equal(cobalt.cached, cobalt.prompt - 2);
    const acme = await cachedTokens(tenant("Acme"));
    assert.equal(acme.cached, acme.prompt - 2);
    const borealis = await cachedTokens(tenant("Borealis"));
    assert.ok(borealis.cached < 20, `Borealis was evicted (${borealis.cached} cached)`);
  });

  it("the next turn of a conversation reuses its sequence in place", async () => {
    const first = tenant("Acme");
    const next: ChatMessage[] = [...first, { role: "assistant", content: "Hi." }, { role: "user", content: "Bye?" }];
    const before = await cachedTokens(first);
    const turn = await cachedTokens(next);
    assert.ok(turn.cached >= before.prompt - 4, `next turn: ${turn.cached} cached, first turn ${before.prompt}`);
  });
});
