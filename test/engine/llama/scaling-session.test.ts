// The inference-time scaling primitives of the llama engine (fork, truncate, scored steps) on the
// real tiny model: scores checked against echo-scored logprobs from ordinary requests, KV reuse
// checked by counting evaluated tokens.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LlamaEngine } from "../../../src/engine/llama/llama-engine.js";
import { testEngineOptions } from "../../helpers/server.js";
import type { GenerateRequest, GenerationEvent, ScalingRequest, ScalingSession } from "../../../src/engine/types.js";

let engine: LlamaEngine;
before(async () => {
  engine = new LlamaEngine(testEngineOptions());
  await engine.ready;
});
after(async () => engine?.close());

const prompt = { kind: "text" as const, text: "Numbers: 4, 8, 15, 16, 23 and" };
/** Token ids 15..24 are the digits 0..9 in the Qwen vocabulary. */
const DIGITS = Array.from({ length: 10 }, (_, i) => 15 + i);
const digitsOnly = DIGITS.map((t) => [t, 100] as const);

function scaling(over: Partial<ScalingRequest> = {}): Promise<ScalingSession> {
  return engine.startScaling({
    model: "tiny",
    prompt,
    sampling: { temperature: 1, topP: 1, seed: 7 },
    maxTokens: 40,
    entropy: false,
    ...over,
  });
}

async function events(request: Partial<GenerateRequest>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  const generation = await engine.generate({
    model: "tiny",
    prompt,
    maxTokens: 0,
    stop: [],
    sampling: { temperature: 1, topP: 1 },
    ...request,
  });
  for await (const e of generation) out.push(e);
  return out;
}

/** Raw ln p of each token of `tokens` after the prompt, scored by echo on an ordinary request. */
async function echoLogprobs(promptTokens: number[], tokens: number[]): Promise<number[]> {
  const all = await events({
    prompt: { kind: "tokens", tokens: [...promptTokens, ...tokens] },
    echo: true,
    logprobs: 0,
  });
  const scored = all.find((e) => e.type === "prompt")!;
  assert.ok(scored.type === "prompt" && scored.logprobs);
  return scored.logprobs.slice(promptTokens.length).map((l) => l.logprob);
}

async function promptTokens(): Promise<number[]> {
  return (await engine.tokenize("tiny", { kind: "text", text: prompt.text, addSpecialTokens: false })).tokens;
}

describe("scaling session primitives", () => {
  it("scores each step with ln p as echo scoring gives it, and ln q = ln p at temperature 1", async () => {
    const session = await scaling();
    const chain = session.chain();
    const steps = await chain.extend(6);
    assert.equal(steps.length, 6);
    assert.deepEqual(
      chain.tokens,
      steps.map((s) => s.token),
    );
    const echo = await echoLogprobs(
      await promptTokens(),
      steps.map((s) => s.token),
    );
    steps.forEach((s, i) => {
      assert.ok(Math.abs(s.logprob - echo[i]!) < 2e-3, `step ${i}: ${s.logprob} vs echo ${echo[i]}`);
      assert.ok(Math.abs(s.proposalLogprob - s.logprob) < 1e-4);
      assert.equal(s.entropy, null);
    });
    session.close();
  });

  it("applies logit_bias to p, scales q by the temperature, and computes the entropy of p", async () => {
    const session = await scaling({
      sampling: { temperature: 0.5, topP: 1, seed: 3, logitBias: digitsOnly },
      entropy: true,
    });
    const [step] = await session.chain().extend(1);
    session.close();
    assert.ok(step && DIGITS.includes(step.token));
    // p restricted to the digits (the other tokens are e^-100 behind), from raw echo logprobs.
    const tokens = await promptTokens();
    const raw = await Promise.all(DIGITS.map(async (d) => (await echoLogprobs(tokens, [d]))[0]!));
    const logZ = Math.log(raw.reduce((z, l) => z + Math.exp(l), 0));
    const p = raw.map((l) => l - logZ);
    const own = p[DIGITS.indexOf(step.token)]!;
    assert.ok(Math.abs(step.logprob - own) < 2e-3, `${step.logprob} vs ${own}`);
    // q at T = 0.5 is p² renormalized.
    const logZq = Math.log(p.reduce((z, l) => z + Math.exp(2 * l), 0));
    assert.ok(
      Math.abs(step.proposalLogprob - (2 * own - logZq)) < 4e-3,
      `${step.proposalLogprob} vs ${2 * own - logZq}`,
    );
    const entropy = -p.reduce((h, l) => h + Math.exp(l) * l, 0);
    assert.ok(Math.abs(step.entropy! - entropy) < 2e-3, `${step.entropy} vs ${entropy}`);
  });

  it("draws with the first chain what a plain request with the same seed draws", async () => {
    const sampling = { temperature: 1, topP: 1, seed: 1234, logitBias: digitsOnly };
    const plain = await events({ maxTokens: 12, sampling });
    const text = plain.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");
    const session = await scaling({ sampling });
    const chain = session.chain();
    for (let i = 0; i < 4; i++) await chain.extend(3);
    assert.equal(session.detokenize(chain.tokens), text);
    session.close();
  });

  it("evaluates the prompt once for many chains, and a fork evaluates only what no sequence holds", async () => {
    const session = await scaling({ maxTokens: 64 });
    const P = session.promptTokens;
    assert.ok(session.tokensEvaluated <= P);
    const chains = Array.from({ length: 4 }, () => session.chain());
    await Promise.all(chains.map((c) => c.extend(8)));
    const afterChains = session.tokensEvaluated;
    // Each chain: its last prompt token again, then 7 decodes (the 8th token is not evaluated yet).
    assert.ok(afterChains - P <= 4 * 8, `evaluated ${afterChains - P} for 4 chains of 8`);
    const fork = chains[0]!.fork(3);
    assert.deepEqual(fork.tokens, chains[0]!.tokens.slice(0, 3));
    await fork.extend(5);
    assert.ok(session.tokensEvaluated - afterChains <= 5, `a fork evaluated ${session.tokensEvaluated - afterChains}`);
    // The original chain kept its state: extending it evaluates its pending token and the decodes.
    const beforeResume = session.tokensEvaluated;
    await chains[0]!.extend(4);
    assert.ok(
      session.tokensEvaluated - beforeResume <= 4,
      `resuming evaluated ${session.tokensEvaluated - beforeResume}`,
    );
    chains[1]!.truncate(2);
    assert.equal(chains[1]!.tokens.length, 2);
    session.close();
  });

  it("without KV reuse every extension evaluates the prompt and the chain again", async () => {
    const session = await scaling({ reuseKvCache: false });
    const P = session.promptTokens;
    const start = session.tokensEvaluated;
    const chain = session.chain();
    await chain.extend(4);
    await chain.extend(4);
    // (P + 3) for the first, (P + 4 + 3) for the second.
    assert.equal(session.tokensEvaluated - start, 2 * P + 10);
    session.close();
  });

  it("serves a job submitted while the scheduler is between admitting and sleeping", async () => {
    // A plain request ends; a session is started in the same turn of the event loop, while the
    // scheduler loop is still inside its admission step. It must not sleep through that job.
    const generation = await engine.generate({
      model: "tiny",
      prompt,
      maxTokens: 16,
      stop: [],
      sampling: { temperature: 1, topP: 1, seed: 1 },
    });
    for await (const event of generation) void event;
    const session = await Promise.race([
      scaling(),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the job was never admitted")), 10_000).unref(),
      ),
    ]);
    assert.equal((await session.chain().extend(2)).length, 2);
    session.close();
  });

  it("refuses samplers the metrics cannot describe", async () => {
    await assert.rejects(scaling({ sampling: { temperature: 1, topP: 0.9 } }), /topP/);
    await assert.rejects(scaling({ sampling: { temperature: 0, topP: 1 } }), /temperature/);
    await assert.rejects(scaling({ sampling: { temperature: 1, topP: 1, presencePenalty: 0.5 } }), /presencePenalty/);
  });

  it("stops a chain at the session's max tokens, and rejects extensions after an abort", async () => {
    const controller = new AbortController();
    const session = await scaling({ maxTokens: 5, signal: controller.signal });
    const chain = session.chain();
    const steps = await chain.extend(10);
    assert.ok(steps.length <= 5);
    assert.ok(chain.done);
    const other = session.chain();
    controller.abort();
    await assert.rejects(other.extend(3), /cancelled/);
    session.close();
  });
});
