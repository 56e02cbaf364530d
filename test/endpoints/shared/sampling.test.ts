// The sampling and scoring surface: logprobs, echo, n, best_of, penalties, logit_bias, prompt
// forms, suffix, cached tokens. Each check can fail for a wrong implementation, not just a wrong
// shape: values are recomputed independently where possible.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startTestServer, waitForIdle, type TestServer } from "../../helpers/server.js";

let server: TestServer;
before(async () => {
  // 8 sequences, so that n=8 runs all its choices at once.
  server = await startTestServer({ parallel: 8, contextSize: 512 });
});
after(async () => {
  await server?.close();
});

const messages = [{ role: "user" as const, content: "Tell me a story about a robot." }];

type LegacyLogprobs = {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
};

async function legacy(body: Record<string, unknown>): Promise<{
  choices: { text: string; index: number; finish_reason: string; logprobs: LegacyLogprobs }[];
  usage: OpenAI.CompletionUsage;
}> {
  return (await server.client.completions.create({ model: "tiny", ...body } as never)) as never;
}

/**
 * How far a token's logprob may move when the same text is scored in another batch layout:
 * generated one token per decode vs echo-scored in one batch. llama.cpp picks different kernels
 * and summation orders for the two (and for AVX2 vs AVX-512 machines), so activations differ in
 * their last float bits, and where one of them is stored in the F16 KV cache a rounding may flip:
 * one F16 step is 2^-11 (about 5e-4) relative. Differences of 1.1e-4 and 1.9e-4 were seen on an
 * AVX-512 EPYC; 2e-3 leaves a tenfold margin, and is what the scaling-session tests allow for the
 * same comparison. Each test using it also shows that the error it looks for would be far larger.
 */
const LAYOUT_TOLERANCE = 2e-3;

function tokenIds(logprobs: LegacyLogprobs): number[] {
  return logprobs.tokens.map((t) => Number(t.replace(/^token_id:/, "")));
}

describe("logprobs", () => {
  it("gives the greedy token the highest logprob among its alternatives", async () => {
    const res = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      max_tokens: 16,
      temperature: 0,
      logprobs: true,
      top_logprobs: 5,
    });
    const content = res.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 16);
    for (const entry of content) {
      assert.equal(entry.top_logprobs.length, 5);
      assert.equal(entry.top_logprobs[0]!.token, entry.token);
      assert.ok(Math.abs(entry.top_logprobs[0]!.logprob - entry.logprob) < 1e-6);
      for (const alt of entry.top_logprobs) assert.ok(alt.logprob <= entry.logprob + 1e-6);
      // A distribution: the alternatives' probabilities cannot add up to more than 1.
      assert.ok(entry.top_logprobs.reduce((s, a) => s + Math.exp(a.logprob), 0) <= 1 + 1e-6);
      assert.deepEqual(Buffer.from(entry.bytes!).toString("utf8").length > 0 || entry.bytes!.length === 0, true);
    }
    assert.equal(
      content
        .map((c) => Buffer.from(c.bytes!))
        .reduce((a, b) => Buffer.concat([a, b]), Buffer.alloc(0))
        .toString("utf8"),
      res.choices[0]!.message.content,
    );
  });

  it("reports the raw distribution: sampling settings do not change a token's logprob", async () => {
    const base = { prompt: "The robot said", max_tokens: 8, seed: 5, logprobs: 2, return_tokens_as_token_ids: true };
    const plain = await legacy(base);
    const generated = plain.choices[0]!.logprobs;
    const ids = tokenIds(generated);
    // Score the same continuation again with settings that change the processed distribution: a
    // hot temperature, a penalty, and a bias of +BIAS on every token of the continuation.
    const BIAS = 5;
    const logit_bias = Object.fromEntries(ids.map((id) => [String(id), BIAS]));
    const rescored = await legacy({
      prompt: [...(await tokenize("The robot said")), ...ids],
      max_tokens: 0,
      echo: true,
      logprobs: 2,
      return_tokens_as_token_ids: true,
      temperature: 1.9,
      frequency_penalty: 2,
      logit_bias,
    });
    const echoed = rescored.choices[0]!.logprobs.token_logprobs.slice(-ids.length);
    generated.token_logprobs.forEach((lp, i) =>
      assert.ok(Math.abs(lp! - echoed[i]!) < LAYOUT_TOLERANCE, `token ${i}: ${lp} vs ${echoed[i]}`),
    );
    // The processed distribution would be far off. The bias alone raises a token's logprob by
    // BIAS - ln(1 + S (e^BIAS - 1)), S being the raw mass of the biased tokens: at most their
    // count times the most likely token's probability (the first top_logprobs entry).
    generated.top_logprobs.forEach((top, i) => {
      const pMax = Math.exp(Math.max(...Object.values(top!)));
      const shift = BIAS - Math.log1p(new Set(ids).size * pMax * Math.expm1(BIAS));
      assert.ok(shift > 100 * LAYOUT_TOLERANCE, `token ${i}: a processed logprob would differ by only ${shift}`);
    });
  });

  it("equals the echo-scored logprobs of the same text, token by token", async () => {
    const prompt = await tokenize("Once upon a time");
    const gen = await legacy({ prompt, max_tokens: 12, seed: 9, logprobs: 3, return_tokens_as_token_ids: true });
    const generated = gen.choices[0]!.logprobs;
    const ids = tokenIds(generated);
    const echo = await legacy({
      prompt: [...prompt, ...ids],
      max_tokens: 0,
      echo: true,
      logprobs: 3,
      return_tokens_as_token_ids: true,
    });
    const scored = echo.choices[0]!.logprobs;
    assert.equal(scored.tokens.length, prompt.length + ids.length);
    assert.equal(scored.token_logprobs[0], null);
    assert.equal(scored.top_logprobs[0], null);
    for (let i = 0; i < ids.length; i++) {
      const j = prompt.length + i;
      assert.equal(scored.tokens[j], generated.tokens[i]);
      assert.ok(
        Math.abs(scored.token_logprobs[j]! - generated.token_logprobs[i]!) < LAYOUT_TOLERANCE,
        `token ${i}: ${generated.token_logprobs[i]} vs ${scored.token_logprobs[j]}`,
      );
      assert.deepEqual(Object.keys(scored.top_logprobs[j]!).sort(), Object.keys(generated.top_logprobs[i]!).sort());
    }
    assert.equal(echo.usage.completion_tokens, 0);
    // The tolerance still tells positions apart: scoring each token with its neighbour's logprob
    // (an off-by-one) would be off by far more than it somewhere.
    const shifted = ids
      .slice(1)
      .map((_, i) => Math.abs(scored.token_logprobs[prompt.length + i]! - generated.token_logprobs[i + 1]!));
    assert.ok(Math.max(...shifted) > 10 * LAYOUT_TOLERANCE, `neighbours differ by at most ${Math.max(...shifted)}`);
  });

  it("returns the prompt before the completion with echo, and offsets into the returned text", async () => {
    const res = await legacy({ prompt: "Hello there", max_tokens: 6, seed: 3, echo: true, logprobs: 0 });
    const choice = res.choices[0]!;
    assert.ok(choice.text.startsWith("Hello there"));
    const lp = choice.logprobs;
    assert.equal(lp.tokens.length, 2 + 6);
    assert.equal(lp.text_offset[0], 0);
    // Each token's text sits at its offset in the returned text.
    lp.tokens.forEach((t, i) => {
      if (!t.startsWith("bytes:")) assert.equal(choice.text.slice(lp.text_offset[i], lp.text_offset[i]! + t.length), t);
    });
    // k=0: each dict holds just the sampled token.
    for (const d of lp.top_logprobs.slice(1)) assert.equal(Object.keys(d!).length, 1);
  });

  it("streams the same text and logprobs as the non-streaming response", async () => {
    const request = { model: "tiny", messages, max_tokens: 20, seed: 42, logprobs: true, top_logprobs: 2 };
    const plain = await server.client.chat.completions.create(request);
    const final = await server.client.chat.completions.stream(request).finalChatCompletion();
    assert.equal(final.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.deepEqual(final.choices[0]!.logprobs!.content, plain.choices[0]!.logprobs!.content);
  });
});

describe("n and best_of", () => {
  it("evaluates the prompt once for n=8, and the choices differ reproducibly", async () => {
    await waitForIdle(server);
    const before = (await server.status()).stats.promptTokensEvaluated;
    // A prompt no earlier request shares beyond the chat template's opening tokens.
    const unique = [{ role: "user" as const, content: `n test ${Date.now()}` }];
    // Logits are not bit-identical across batch compositions (llama.cpp's kernels sum in another
    // order), and over the random model's flat 151k-token distribution that alone can flip a draw.
    // Sampling among ten digits (ids 15..24) keeps the seed comparison about the sampler's RNG.
    const digitsOnly = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(15 + i), 100]));
    const request = { model: "tiny", messages: unique, max_tokens: 10, seed: 77, logit_bias: digitsOnly };
    const res = await server.client.chat.completions.create({ ...request, n: 8 });
    const after = (await server.status()).stats.promptTokensEvaluated;
    // Evaluated once: not 8 times, and nothing beyond what the prefix cache did not hold.
    assert.equal(after - before, res.usage!.prompt_tokens - res.usage!.prompt_tokens_details!.cached_tokens!);
    assert.ok(res.usage!.prompt_tokens_details!.cached_tokens! < 5);
    assert.deepEqual(
      res.choices.map((c) => c.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(new Set(res.choices.map((c) => c.message.content)).size, 8);
    assert.equal(res.usage!.completion_tokens, 80);

    for (const c of res.choices) assert.match(c.message.content!, /^[0-9]{10}$/);
    const again = await server.client.chat.completions.create({ ...request, n: 8 });
    assert.deepEqual(
      again.choices.map((c) => c.message.content),
      res.choices.map((c) => c.message.content),
    );
    // Choice 0 of n equals the n=1 completion with the same seed.
    const single = await server.client.chat.completions.create(request);
    assert.equal(single.choices[0]!.message.content, res.choices[0]!.message.content);
  });

  it("streams n choices interleaved, each with its own role and finish chunk", async () => {
    const stream = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      n: 3,
      max_tokens: 5,
      seed: 8,
      stream: true,
    });
    const roles = new Map<number, number>();
    const finishes = new Map<number, string>();
    const texts = ["", "", ""];
    for await (const chunk of stream)
      for (const c of chunk.choices) {
        if (c.delta.role) roles.set(c.index, (roles.get(c.index) ?? 0) + 1);
        if (c.delta.content) texts[c.index] += c.delta.content;
        if (c.finish_reason) finishes.set(c.index, c.finish_reason);
      }
    assert.deepEqual([...roles.entries()].sort(), [
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual([...finishes.keys()].sort(), [0, 1, 2]);
    const plain = await server.client.chat.completions.create({
      model: "tiny",
      messages,
      n: 3,
      max_tokens: 5,
      seed: 8,
    });
    assert.deepEqual(
      texts,
      plain.choices.map((c) => c.message.content),
    );
  });

  it("returns the best_of candidates with the highest mean token logprob", async () => {
    const common = { prompt: "A list of fruits:", max_tokens: 6, seed: 31 };
    const all = await legacy({ ...common, n: 4, logprobs: 0 });
    const mean = (c: (typeof all.choices)[number]) =>
      c.logprobs.token_logprobs.reduce<number>((s, x) => s + (x ?? 0), 0) / c.logprobs.token_logprobs.length;
    const ranked = [...all.choices].sort((a, b) => mean(b) - mean(a));
    const best = await legacy({ ...common, n: 2, best_of: 4 });
    assert.deepEqual(
      best.choices.map((c) => c.text),
      ranked.slice(0, 2).map((c) => c.text),
    );
    assert.deepEqual(
      best.choices.map((c) => c.index),
      [0, 1],
    );
    assert.equal(best.usage.completion_tokens, 4 * 6, "all candidates are generated and counted");
  });

  it("refuses best_of below n, and streaming with best_of above n", async () => {
    await assert.rejects(legacy({ prompt: "x", n: 3, best_of: 2 }), OpenAI.BadRequestError);
    await assert.rejects(
      server.client.completions.create({ model: "tiny", prompt: "x", best_of: 3, stream: true }),
      OpenAI.BadRequestError,
    );
  });
});

describe("penalties and biases", () => {
  it("bans a token with logit_bias -100 and forces one with +100", async () => {
    const request = {
      prompt: "Numbers:",
      max_tokens: 12,
      temperature: 0,
      logprobs: 0,
      return_tokens_as_token_ids: true,
    };
    const greedy = tokenIds((await legacy(request)).choices[0]!.logprobs);
    const banned = greedy[0]!;
    const without = tokenIds(
      (await legacy({ ...request, logit_bias: { [String(banned)]: -100 } })).choices[0]!.logprobs,
    );
    assert.notDeepEqual(without, greedy);
    assert.ok(!without.includes(banned));
    const forced = tokenIds(
      (await legacy({ ...request, temperature: 1, seed: 4, logit_bias: { "9707": 100 } })).choices[0]!.logprobs,
    );
    assert.deepEqual(forced, Array(12).fill(9707));
  });

  it("rejects a logit_bias id outside the vocabulary", async () => {
    await assert.rejects(
      legacy({ prompt: "x", logit_bias: { "999999": 5 } }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "logit_bias",
    );
  });

  it("lowers repetition with frequency_penalty, on a fixed seed", async () => {
    const request = {
      prompt: "The the the",
      max_tokens: 64,
      temperature: 0,
      logprobs: 0,
      return_tokens_as_token_ids: true,
    };
    const repeats = (ids: number[]) => ids.length - new Set(ids).size;
    const plain = repeats(tokenIds((await legacy(request)).choices[0]!.logprobs));
    const penalised = repeats(tokenIds((await legacy({ ...request, frequency_penalty: 2 })).choices[0]!.logprobs));
    assert.ok(plain > 10, `greedy random model repeated only ${plain} times`);
    assert.ok(penalised < plain / 2, `${penalised} repeats with the penalty vs ${plain} without`);
  });

  it("top_k 1 at temperature 1 draws the greedy tokens, whatever the seed; without it the seeds differ", async () => {
    const request = { prompt: "Once upon a time", max_tokens: 24, logprobs: 0, return_tokens_as_token_ids: true };
    const ids = async (extra: Record<string, unknown>) =>
      tokenIds((await legacy({ ...request, ...extra })).choices[0]!.logprobs);
    const greedy = await ids({ temperature: 0 });
    let sampledDiffers = false;
    for (const seed of [1, 2, 3, 4]) {
      assert.deepEqual(await ids({ temperature: 1, seed, top_k: 1 }), greedy, `seed ${seed}`);
      if (JSON.stringify(await ids({ temperature: 1, seed })) !== JSON.stringify(greedy)) sampledDiffers = true;
    }
    assert.ok(
      sampledDiffers,
      "plain sampling at temperature 1 drew the greedy tokens for every seed: the check shows nothing",
    );
  });

  it("min_p 1 at temperature 1 keeps only the most likely token, so it draws the greedy tokens", async () => {
    const request = { prompt: "Once upon a time", max_tokens: 24, logprobs: 0, return_tokens_as_token_ids: true };
    const ids = async (extra: Record<string, unknown>) =>
      tokenIds((await legacy({ ...request, ...extra })).choices[0]!.logprobs);
    const greedy = await ids({ temperature: 0 });
    for (const seed of [1, 2, 3, 4])
      assert.deepEqual(await ids({ temperature: 1, seed, min_p: 1 }), greedy, `seed ${seed}`);
    // A small min_p leaves the tail of a random model's flat distribution in: sampling still varies.
    const loose = new Set<string>();
    for (const seed of [1, 2, 3, 4]) loose.add(JSON.stringify(await ids({ temperature: 1, seed, min_p: 0.01 })));
    assert.ok(loose.size > 1, "min_p 0.01 drew the same tokens for every seed");
  });

  it("lowers repetition with repetition_penalty, greedy", async () => {
    const request = {
      prompt: "The the the",
      max_tokens: 64,
      temperature: 0,
      logprobs: 0,
      return_tokens_as_token_ids: true,
    };
    const repeats = (ids: number[]) => ids.length - new Set(ids).size;
    const plain = repeats(tokenIds((await legacy({ ...request, repetition_penalty: 1 })).choices[0]!.logprobs));
    const penalised = repeats(tokenIds((await legacy({ ...request, repetition_penalty: 2 })).choices[0]!.logprobs));
    assert.ok(plain > 10, `greedy random model repeated only ${plain} times`);
    assert.ok(penalised < plain / 2, `${penalised} repeats with the penalty vs ${plain} without`);
  });

  it("accepts vLLM's top_k, min_p and repetition_penalty, and refuses mixing penalty kinds", async () => {
    const res = await legacy({ prompt: "Hi", max_tokens: 4, seed: 1, top_k: 5, min_p: 0.01, repetition_penalty: 1.3 });
    assert.equal(res.usage.completion_tokens, 4);
    await assert.rejects(
      legacy({ prompt: "Hi", repetition_penalty: 1.3, presence_penalty: 1 }),
      OpenAI.BadRequestError,
    );
  });
});

describe("prompt forms", () => {
  it("accepts string, string[], int[] and int[][], indexing choices prompt_idx * n + j", async () => {
    const ids = await tokenize("Hello world");
    const forms: [unknown, number][] = [
      ["Hello world", 1],
      [["Hello world", "Goodbye"], 2],
      [ids, 1],
      [[ids, ids.slice(0, 1)], 2],
    ];
    for (const [prompt, prompts] of forms) {
      const res = await legacy({ prompt, n: 2, max_tokens: 3, seed: 2 });
      assert.deepEqual(
        res.choices.map((c) => c.index),
        Array.from({ length: prompts * 2 }, (_, i) => i),
      );
      assert.equal(res.usage.completion_tokens, prompts * 2 * 3);
    }
    // The same prompt as text or as its token ids is the same request.
    const asText = await legacy({ prompt: "Hello world", max_tokens: 5, seed: 6 });
    const asIds = await legacy({ prompt: ids, max_tokens: 5, seed: 6 });
    assert.equal(asText.choices[0]!.text, asIds.choices[0]!.text);
    const two = await legacy({ prompt: ["Hello world", "Hello world"], max_tokens: 1 });
    assert.equal(two.usage.prompt_tokens, 2 * ids.length);
  });

  it("rejects empty and out-of-vocabulary token prompts", async () => {
    await assert.rejects(legacy({ prompt: [] }), OpenAI.BadRequestError);
    await assert.rejects(legacy({ prompt: [[]] }), OpenAI.BadRequestError);
    await assert.rejects(
      legacy({ prompt: [5, 999999] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "prompt",
    );
  });

  it("builds fill-in-the-middle prompts from suffix with the model's FIM tokens", async () => {
    const res = await legacy({ prompt: "def f(", suffix: "    return x", max_tokens: 3, seed: 1 });
    const withoutSuffix = await legacy({ prompt: "def f(", max_tokens: 3, seed: 1 });
    // <|fim_prefix|> prefix <|fim_suffix|> suffix <|fim_middle|>
    const prefixTokens = (await tokenize("def f(")).length;
    const suffixTokens = (await tokenize("    return x")).length;
    assert.equal(res.usage.prompt_tokens, prefixTokens + suffixTokens + 3);
    assert.equal(withoutSuffix.usage.prompt_tokens, prefixTokens);
  });
});

describe("prefix cache", () => {
  it("reports cached_tokens for a repeated prefix", async () => {
    await waitForIdle(server);
    const system = {
      role: "system" as const,
      content: `You are a careful assistant. ${"Rules. ".repeat(40)} ${Date.now()}`,
    };
    const first = await server.client.chat.completions.create({
      model: "tiny",
      messages: [system, { role: "user", content: "first" }],
      max_tokens: 2,
    });
    const second = await server.client.chat.completions.create({
      model: "tiny",
      messages: [system, { role: "user", content: "second" }],
      max_tokens: 2,
    });
    // Only the chat template's opening tokens can be shared with earlier requests.
    assert.ok(first.usage!.prompt_tokens_details!.cached_tokens! < 5);
    const cached = second.usage!.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(
      cached > 40 && cached < second.usage!.prompt_tokens,
      `cached ${cached} of ${second.usage!.prompt_tokens}`,
    );
  });
});

async function tokenize(text: string): Promise<number[]> {
  const root = server.baseURL.replace(/\/v1$/, "");
  const res = await fetch(`${root}/tokenize`, {
    method: "POST",
    body: JSON.stringify({ model: "tiny", prompt: text, add_special_tokens: false }),
    headers: { "content-type": "application/json" },
  });
  return ((await res.json()) as { tokens: number[] }).tokens;
}
