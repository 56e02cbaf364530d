// Inference-time scaling through the HTTP API with the official client, on the tiny model.
// Exactness: with logit_bias confining the model to three tokens and max_tokens 3 there are 27
// answers; their probabilities come from echo-scored logprobs, so p(x)^α and the exact law of the
// MH chain after M steps are known, and power sampling's answers are checked against them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startTestServer, type TestServer } from "../../../helpers/server.js";

let server: TestServer;
let promptTokens: number[];
before(async () => {
  server = await startTestServer({ parallel: 8 });
  const res = await fetch(`${server.root}/tokenize`, {
    method: "POST",
    body: JSON.stringify({ model: "tiny", prompt: PROMPT }),
    headers: { "content-type": "application/json" },
  });
  promptTokens = ((await res.json()) as { tokens: number[] }).tokens;
});
after(async () => server?.close());

const PROMPT = "Count with me:";
/** Ids 15..24 are the digits 0..9 in the Qwen vocabulary; each digit is one token. */
const DIGITS = Array.from({ length: 10 }, (_, i) => 15 + i);
const digitOf = (token: number) => String(token - 15);

type LegacyParams = Parameters<TestServer["client"]["completions"]["create"]>[0] & { stream?: false };

/**
 * Requests of 100 chains or particles take tens of seconds on 2 cores, more when the machine is
 * shared: a client timeout well above the helper's 60 s (a timed-out request's chains would also
 * fill the queue for the next test).
 */
const ITS_REQUEST = { timeout: 600_000 };

/** A legacy completion through the official client; `its` and other extensions ride along in the body. */
async function complete(params: Record<string, unknown>) {
  return server.client.completions.create({ model: "tiny", ...params } as unknown as LegacyParams, ITS_REQUEST);
}

/** Raw ln p of the last token of each token list, one echo-scored request for all of them. */
async function lastTokenLogprobs(lists: number[][]): Promise<number[]> {
  const res = await complete({ prompt: lists, max_tokens: 0, echo: true, logprobs: 0 });
  return res.choices.sort((a, b) => a.index - b.index).map((c) => c.logprobs!.token_logprobs!.at(-1)!);
}

/** ln p_b(a | prefix) for each allowed token a: raw logprobs renormalized over the allowed set (the bias +100 leaves the rest e^-100 behind). */
async function allowedLogprobs(prefix: number[], allowed: number[]): Promise<number[]> {
  const raw = await lastTokenLogprobs(allowed.map((a) => [...promptTokens, ...prefix, a]));
  const logZ = Math.log(raw.reduce((z, l) => z + Math.exp(l), 0));
  return raw.map((l) => l - logZ);
}

describe("power sampling is exact", () => {
  it("draws answers from p(x)^α over 27 outcomes, which plain sampling at T = 1/α does not", async () => {
    const alpha = 4;
    const tokens = [DIGITS[1]!, DIGITS[4]!, DIGITS[7]!];
    // Conditionals of the biased model for every prefix of length 0..2.
    const cond = new Map<string, number[]>();
    const prefixes: number[][] = [[]];
    for (const a of tokens) prefixes.push([a]);
    for (const a of tokens) for (const b of tokens) prefixes.push([a, b]);
    for (const prefix of prefixes) cond.set(prefix.join(","), await allowedLogprobs(prefix, tokens));
    const outcomes: number[][] = [];
    for (const a of [0, 1, 2]) for (const b of [0, 1, 2]) for (const c of [0, 1, 2]) outcomes.push([a, b, c]);
    const logp = (o: number[], from = 0) =>
      o.slice(from).reduce(
        (s, k, j) =>
          s +
          cond.get(
            o
              .slice(0, from + j)
              .map((i) => tokens[i])
              .join(","),
          )![k]!,
        0,
      );
    // The proposal at T = 1/α: each step's p_b^α renormalized.
    const logq = (o: number[], from = 0) =>
      o.slice(from).reduce((s, k, j) => {
        const c = cond.get(
          o
            .slice(0, from + j)
            .map((i) => tokens[i])
            .join(","),
        )!;
        return s + alpha * c[k]! - Math.log(c.reduce((z, l) => z + Math.exp(alpha * l), 0));
      }, 0);
    const target = normalize(outcomes.map((o) => alpha * logp(o)));
    const proposal = normalize(outcomes.map((o) => logq(o)));
    assert.ok(
      totalVariation(target, proposal) > 0.1,
      `the model's p^α and its tempered proposal are too close to tell apart: TV ${totalVariation(target, proposal)}`,
    );

    // The exact law after M steps of the kernel lavash implements (idx uniform on 0..2, suffix
    // resampled from the proposal, MH acceptance): pick the M that brings it within 0.02 of p^α.
    const kernel = outcomes.map((x) =>
      outcomes.map((y) => {
        let total = 0;
        for (let idx = 0; idx < 3; idx++) {
          if (x.slice(0, idx).join() !== y.slice(0, idx).join()) continue;
          const accept = Math.min(
            1,
            Math.exp(alpha * logp(y, idx) + logq(x, idx) - alpha * logp(x, idx) - logq(y, idx)),
          );
          total += (Math.exp(logq(y, idx)) * accept) / 3;
        }
        return total;
      }),
    );
    kernel.forEach((row, i) => (row[i]! += 1 - row.reduce((s, v) => s + v, 0)));
    let law = proposal;
    let steps = 0;
    while (totalVariation(law, target) > 0.02 && steps < 40) {
      law = outcomes.map((_, j) => law.reduce((s, pi, i) => s + pi * kernel[i]![j]!, 0));
      steps++;
    }
    assert.ok(
      totalVariation(law, target) <= 0.02,
      `the chain needs more than 40 steps: TV ${totalVariation(law, target)}`,
    );

    const logitBias = Object.fromEntries(tokens.map((t) => [String(t), 100]));
    const sample = async (its: Record<string, unknown> | null, temperature?: number) => {
      const counts = new Array<number>(27).fill(0);
      for (let seed = 1; seed <= 2; seed++) {
        const res = await complete({
          prompt: PROMPT,
          max_tokens: 3,
          n: 100,
          seed,
          logit_bias: logitBias,
          ...(temperature !== undefined ? { temperature } : {}),
          ...(its ? { its } : {}),
        });
        for (const c of res.choices) {
          const o = [...c.text].map((ch) => tokens.map(digitOf).indexOf(ch));
          assert.ok(o.length === 3 && o.every((k) => k >= 0), `unexpected answer '${c.text}'`);
          counts[o[0]! * 9 + o[1]! * 3 + o[2]!]!++;
        }
      }
      return counts;
    };
    const powered = await sample({ method: "power_sampling", block_size: 3, mcmc_steps: steps, alpha });
    const plain = await sample(null, 1 / alpha);
    const critical = 3.1; // chi-square with merged cells is scaled by its degrees of freedom: see chiSquare
    assert.ok(
      chiSquare(powered, target) < critical,
      `power sampling's answers do not follow p^α: ${chiSquare(powered, target)}`,
    );
    assert.ok(
      chiSquare(plain, target) >= critical,
      `plain sampling at T = 1/α passed as p^α: the test cannot tell them apart`,
    );
  });
});

function normalize(logWeights: number[]): number[] {
  const max = Math.max(...logWeights);
  const w = logWeights.map((l) => Math.exp(l - max));
  const z = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / z);
}

function totalVariation(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / 2;
}

/**
 * Pearson's statistic over cells merged until each expects ≥ 5 answers, divided by its
 * 0.999 quantile (Wilson–Hilferty): below 1 passes at the 0.1% level. Returned ×3.1 so the
 * threshold reads as a number; callers compare with 3.1.
 */
function chiSquare(counts: number[], law: number[]): number {
  const total = counts.reduce((s, v) => s + v, 0);
  const order = law.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
  const cells: { expected: number; observed: number }[] = [];
  let pending = { expected: 0, observed: 0 };
  for (const [p, i] of order) {
    pending.expected += p * total;
    pending.observed += counts[i]!;
    if (pending.expected >= 5) {
      cells.push(pending);
      pending = { expected: 0, observed: 0 };
    }
  }
  if (pending.expected > 0) {
    if (cells.length === 0) cells.push(pending);
    else {
      cells.at(-1)!.expected += pending.expected;
      cells.at(-1)!.observed += pending.observed;
    }
  }
  const statistic = cells.reduce((s, c) => s + (c.observed - c.expected) ** 2 / c.expected, 0);
  const df = Math.max(1, cells.length - 1);
  const z = 3.0902; // 0.999 normal quantile
  const quantile = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  return (3.1 * statistic) / quantile;
}

const digitsOnly = Object.fromEntries(DIGITS.map((t) => [String(t), 100]));
const chat = [{ role: "user" as const, content: "Pick some digits." }];
type ChatParams = Parameters<TestServer["client"]["chat"]["completions"]["create"]>[0];
type WithIts = {
  its?: Record<string, unknown> & {
    tokens_evaluated: number;
    smc?: { resampling: { ancestors: number[] }[]; final_weights: number[]; final_scores: number[] };
    best_of_n?: { scores: number[]; chosen: number[] };
  };
};

async function chatCreate(params: Record<string, unknown>) {
  const res = await server.client.chat.completions.create(
    {
      model: "tiny",
      messages: chat,
      ...params,
    } as unknown as ChatParams & { stream?: false },
    ITS_REQUEST,
  );
  return res as typeof res & WithIts;
}

describe("sequential Monte Carlo and best-of-N", () => {
  it("SMC with one particle draws what plain sampling with the same seed draws", async () => {
    const plain = await chatCreate({ max_tokens: 12, seed: 99, logit_bias: digitsOnly });
    const smc = await chatCreate({
      max_tokens: 12,
      seed: 99,
      logit_bias: digitsOnly,
      its: { method: "smc", num_particles: 1, tokens_per_step: 4 },
    });
    assert.match(plain.choices[0]!.message.content!, /^[0-9]{12}$/);
    assert.equal(smc.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.equal(smc.its!.method, "smc");
    assert.deepEqual(smc.its!.smc!.resampling, []);
  });

  it("resampling keeps the particle count, and the answer is the particle with the best score", async () => {
    const res = await chatCreate({
      max_tokens: 8,
      seed: 5,
      logit_bias: digitsOnly,
      its: { method: "smc", num_particles: 4, tokens_per_step: 2, ess_threshold: 1, resampling: "systematic" },
    });
    const smc = res.its!.smc!;
    assert.ok(smc.resampling.length >= 1, "ess_threshold 1 resamples at every step where weights differ");
    for (const event of smc.resampling) assert.equal(event.ancestors.length, 4);
    assert.equal(smc.final_weights.length, 4);
    assert.equal(smc.final_scores.length, 4);
    assert.equal(res.choices.length, 1);
    // The answer's own score (mean ln q, = ln p_b at T = 1), recomputed from echo-scored logprobs.
    const answer = [...res.choices[0]!.message.content!].map((d) => 15 + Number(d));
    const prompt = await chatPromptTokens();
    let total = 0;
    for (let t = 0; t < answer.length; t++)
      total += (await allowedLogprobsAfter(prompt, answer.slice(0, t)))[answer[t]! - 15]!;
    const own = total / answer.length;
    assert.ok(Math.abs(own - Math.max(...smc.final_scores)) < 5e-3, `${own} vs best ${Math.max(...smc.final_scores)}`);
  });

  for (const metric of ["logprobs", "power_distribution", "entropy", "likelihood_confidence"] as const)
    it(`best-of-N ranks candidates by ${metric}, recomputed from echo-scored logprobs`, async () => {
      const temperature = 0.5;
      const res = await chatCreate({
        max_tokens: 3,
        seed: 11,
        temperature,
        logit_bias: digitsOnly,
        its: { method: "best_of_n", n: 4, top_k: 3, metric },
      });
      assert.equal(res.choices.length, 3);
      const { scores, chosen } = res.its!.best_of_n!;
      assert.equal(scores.length, 4);
      assert.deepEqual(chosen, [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, 3));
      const prompt = await chatPromptTokens();
      for (const [j, choice] of res.choices.entries()) {
        const answer = [...choice.message.content!].map((d) => 15 + Number(d));
        let total = 0;
        for (let t = 0; t < answer.length; t++) {
          const logp = await allowedLogprobsAfter(prompt, answer.slice(0, t));
          const own = logp[answer[t]! - 15]!;
          const entropy = -logp.reduce((h, l) => h + Math.exp(l) * l, 0);
          const logq = own / temperature - Math.log(logp.reduce((z, l) => z + Math.exp(l / temperature), 0));
          total += {
            logprobs: logq,
            power_distribution: own / temperature,
            entropy: -entropy,
            likelihood_confidence: logq - entropy,
          }[metric];
        }
        const expected = total / answer.length;
        assert.ok(
          Math.abs(expected - scores[chosen[j]!]!) < 5e-3,
          `choice ${j}: recomputed ${expected}, reported ${scores[chosen[j]!]}`,
        );
      }
    });
});

describe("the its API", () => {
  it("takes PITA's system-prompt code, strips it, and reports diagnostics", async () => {
    const res = await chatCreate({
      messages: [{ role: "system", content: "ITS_NONE_PS_4_2 You count." }, ...chat],
      max_tokens: 8,
      seed: 3,
      temperature: 0.5,
      // Ten candidates per step keep the seeded draws apart from last-bit differences in the logits.
      logit_bias: digitsOnly,
    });
    const its = res.its as unknown as {
      method: string;
      tokens_evaluated: number;
      tokens_sampled: number;
      power_sampling: { chains: { proposals: number }[][]; acceptance_rate: number };
    };
    assert.equal(its.method, "power_sampling");
    assert.equal(its.power_sampling.chains[0]!.length, 2); // 8 tokens in blocks of 4
    assert.equal(its.power_sampling.chains[0]![0]!.proposals, 2);
    assert.ok(its.tokens_sampled >= 8 && its.tokens_evaluated > 0);
    // The code is gone from the prompt: the same request without it renders the same prompt.
    const stripped = await chatCreate({
      messages: [{ role: "system", content: "You count." }, ...chat],
      max_tokens: 8,
      seed: 3,
      logit_bias: digitsOnly,
      its: { method: "power_sampling", block_size: 4, mcmc_steps: 2, alpha: 2 },
    });
    assert.equal(stripped.usage!.prompt_tokens, res.usage!.prompt_tokens);
    assert.equal(stripped.choices[0]!.message.content, res.choices[0]!.message.content);
  });

  it("streams progress as SSE comments, then the answer, with the diagnostics on the last chunk", async () => {
    const request = {
      model: "tiny",
      messages: chat,
      max_tokens: 6,
      seed: 8,
      logit_bias: digitsOnly,
      its: { method: "power_sampling", block_size: 3, mcmc_steps: 2 },
    };
    const res = await fetch(`${server.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
    });
    const text = await res.text();
    const comments = text.split("\n").filter((l) => l.startsWith(": its "));
    assert.equal(comments.length, 2, text); // one per block
    assert.equal(JSON.parse(comments[0]!.slice(6)).event, "block");
    const data = text
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
      .map((l) => JSON.parse(l.slice(6)));
    const last = data.at(-1);
    assert.equal(last.choices.length, 0);
    assert.equal(last.its.method, "power_sampling");
    assert.ok(last.usage.completion_tokens >= 6);
    const plain = await chatCreate(request);
    const streamed = data.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    assert.equal(streamed, plain.choices[0]!.message.content);
    // The official client reads such a stream unmodified.
    const stream = server.client.chat.completions.stream(
      request as unknown as Parameters<TestServer["client"]["chat"]["completions"]["stream"]>[0],
    );
    assert.equal((await stream.finalChatCompletion()).choices[0]!.message.content, plain.choices[0]!.message.content);
  });

  it("refuses malformed codes, bad values, unsupported combinations and requests over the compute cap", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ messages: [{ role: "system", content: "ITS_SMC_10_5 hi" }, ...chat] }, "messages[0].content"],
      [{ its: { method: "power_sampling", block_size: 0 } }, "its.block_size"],
      [{ its: { method: "smc", particles: 3 } }, "its.particles"],
      [{ its: { method: "best_of_n", n: 2, top_k: 3 } }, "its.top_k"],
      [{ its: { method: "power_sampling", alpha: 4 }, temperature: 0.7 }, "temperature"],
      [{ its: { method: "best_of_n" }, logprobs: true }, "logprobs"],
      [{ its: { method: "best_of_n" }, stop: ["x"] }, "stop"],
      [{ its: { method: "best_of_n" }, n: 2 }, "n"],
      [{ its: { method: "best_of_n" }, top_p: 0.5 }, "top_p"],
      [{ its: { method: "best_of_n" }, response_format: { type: "json_object" } }, "response_format"],
      [{ its: { method: "smc", stop_on_eos: false } }, "its.stop_on_eos"],
      [{ its: { method: "power_sampling", mcmc_steps: 1000, block_size: 8 }, max_tokens: 512 }, "its"],
    ];
    const refused = (param: string, label: string) => (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, `${label}: ${String(error)}`);
      assert.equal(error.status, 400);
      assert.equal(error.param, param, `${label}: ${error.message}`);
      return true;
    };
    for (const [params, param] of cases)
      await assert.rejects(chatCreate({ max_tokens: 4, ...params }), refused(param, JSON.stringify(params)));
    await assert.rejects(
      complete({ prompt: ["a", "b"], max_tokens: 4, its: { method: "best_of_n" } }),
      refused("prompt", "two prompts"),
    );
  });

  it("frees every sequence when the client goes away mid-run", async () => {
    const controller = new AbortController();
    const pending = server.client.chat.completions.create(
      {
        model: "tiny",
        messages: chat,
        max_tokens: 64,
        its: { method: "smc", num_particles: 6, tokens_per_step: 2 },
      } as unknown as ChatParams & { stream?: false },
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await assert.rejects(pending);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const status = await server.status();
      if (status.queued === 0 && status.sequences.every((s) => s.state === "idle")) break;
      assert.ok(Date.now() < deadline, "sequences still busy after the client left");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

async function chatPromptTokens(): Promise<number[]> {
  const res = await fetch(`${server.root}/tokenize`, {
    method: "POST",
    body: JSON.stringify({ model: "tiny", messages: chat, add_generation_prompt: true }),
    headers: { "content-type": "application/json" },
  });
  return ((await res.json()) as { tokens: number[] }).tokens;
}

/** ln p_b over the ten digits after prompt + prefix (raw logprobs renormalized over the digits). */
async function allowedLogprobsAfter(prompt: number[], prefix: number[]): Promise<number[]> {
  const raw = await lastTokenLogprobs(DIGITS.map((d) => [...prompt, ...prefix, d]));
  const logZ = Math.log(raw.reduce((z, l) => z + Math.exp(l), 0));
  return raw.map((l) => l - logZ);
}
