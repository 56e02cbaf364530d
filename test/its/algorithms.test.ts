import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError } from "../../src/engine/errors.js";
import type { ScoredStep } from "../../src/engine/types.js";
import { metricNeedsEntropy, rankByScore, sequenceScore, tokenMetric, tokenScore } from "../../src/its/metrics.js";
import { createPrng, deriveSeed } from "../../src/its/random.js";
import { runIts } from "../../src/its/run.js";
import { effectiveSampleSize, normalizeLogWeights, resampleAncestors } from "../../src/its/smc.js";
import type { ItsResult, ItsSpec, TokenMetric } from "../../src/its/types.js";
import {
  FakeScalingSession,
  hashLogits,
  type FakeSessionOptions,
  type LogitsFn,
} from "../helpers/fake-scaling-session.js";

// ---------------------------------------------------------------------------------------------
// Helpers: exact distributions by enumeration, and a chi-square goodness-of-fit test.

/** Every complete answer: length `maxTokens`, or shorter and ending with end-of-generation. */
function completeAnswers(session: FakeScalingSession): number[][] {
  const size = session.options.vocab + (session.eogToken === null ? 0 : 1);
  const out: number[][] = [];
  const grow = (prefix: number[]) => {
    if (prefix.length === session.maxTokens || (prefix.length > 0 && prefix[prefix.length - 1] === session.eogToken)) {
      out.push(prefix);
      return;
    }
    for (let v = 0; v < size; v++) grow([...prefix, v]);
  };
  grow([]);
  return out;
}

/** ln p(x) (temperature 1) and ln q(x) (the session's temperature) of a whole answer. */
function sequenceLogProbs(session: FakeScalingSession, x: readonly number[]): { p: number; q: number } {
  let p = 0;
  let q = 0;
  for (let t = 0; t < x.length; t++) {
    const d = session.distributions(x.slice(0, t));
    p += d.p[x[t]!]!;
    q += d.q[x[t]!]!;
  }
  return { p, q };
}

/** The power target p(x)^α / Z and the plain proposal q(x) over every complete answer. */
function exactDistributions(
  session: FakeScalingSession,
  alpha: number,
): { target: Map<string, number>; plain: Map<string, number> } {
  const answers = completeAnswers(session);
  const weights = answers.map((x) => Math.exp(alpha * sequenceLogProbs(session, x).p));
  const z = weights.reduce((a, b) => a + b, 0);
  const target = new Map<string, number>();
  const plain = new Map<string, number>();
  answers.forEach((x, i) => {
    target.set(x.join(","), weights[i]! / z);
    plain.set(x.join(","), Math.exp(sequenceLogProbs(session, x).q));
  });
  return { target, plain };
}

function totalVariation(a: Map<string, number>, b: Map<string, number>): number {
  let sum = 0;
  for (const [key, pa] of a) sum += Math.abs(pa - (b.get(key) ?? 0));
  return sum / 2;
}

/** χ² critical value at p = 0.001 (Wilson–Hilferty). */
function chiSquareCritical(dof: number): number {
  const z = 3.0902;
  const h = 2 / (9 * dof);
  return dof * (1 - h + z * Math.sqrt(h)) ** 3;
}

/**
 * Pearson's χ² of observed counts against probabilities; cells are merged (smallest expected
 * first) until every merged cell expects at least 5.
 */
function chiSquare(
  observed: Map<string, number>,
  probabilities: Map<string, number>,
  n: number,
): { stat: number; dof: number; critical: number } {
  for (const key of observed.keys()) assert.ok(probabilities.has(key), `outcome ${key} is not a complete answer`);
  const cells = [...probabilities]
    .map(([key, p]) => ({ expected: p * n, observed: observed.get(key) ?? 0 }))
    .sort((a, b) => a.expected - b.expected);
  const merged: { expected: number; observed: number }[] = [];
  let pool = { expected: 0, observed: 0 };
  for (const cell of cells) {
    pool = { expected: pool.expected + cell.expected, observed: pool.observed + cell.observed };
    if (pool.expected >= 5) {
      merged.push(pool);
      pool = { expected: 0, observed: 0 };
    }
  }
  if (pool.expected > 0) {
    const last = merged.pop() ?? { expected: 0, observed: 0 };
    merged.push({ expected: last.expected + pool.expected, observed: last.observed + pool.observed });
  }
  const stat = merged.reduce((s, c) => s + (c.observed - c.expected) ** 2 / c.expected, 0);
  const dof = merged.length - 1;
  assert.ok(dof >= 2, `too few cells for a χ² test (${merged.length})`);
  return { stat, dof, critical: chiSquareCritical(dof) };
}

/** Power sampling `runs` times (a fresh session and run seed each), counting the answers. */
async function samplePowerRuns(
  sessionOptions: Omit<FakeSessionOptions, "seed" | "temperature">,
  power: { blockSize: number; mcmcSteps: number; alpha: number },
  runs: number,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let r = 0; r < runs; r++) {
    const session = new FakeScalingSession({ ...sessionOptions, seed: 1000 + r, temperature: 1 / power.alpha });
    const result = await runIts(
      session,
      { method: "power_sampling", power },
      { temperature: 1 / power.alpha, seed: 77 + r },
    );
    const key = result.choices[0]!.tokens.join(",");
    counts.set(key, (counts.get(key) ?? 0) + 1);
    assert.equal(session.live, 0);
  }
  return counts;
}

/** Checks that each step's values are what the model gives at that prefix (steps aligned with tokens). */
function assertStepsMatchModel(
  session: FakeScalingSession,
  tokens: readonly number[],
  steps: readonly ScoredStep[],
): void {
  assert.deepEqual(
    steps.map((s) => s.token),
    tokens,
  );
  steps.forEach((step, t) => {
    const d = session.distributions(tokens.slice(0, t));
    assert.equal(step.logprob, d.p[step.token]);
    assert.equal(step.proposalLogprob, d.q[step.token]);
    assert.equal(step.endOfGeneration, step.token === session.eogToken);
  });
}

function withoutTime(result: ItsResult): unknown {
  return { ...result, diagnostics: { ...result.diagnostics, wallTimeMs: 0 } };
}

function step(partial: Partial<ScoredStep>): ScoredStep {
  return {
    token: 0,
    logprob: -1,
    proposalLogprob: -0.5,
    logNormalizer: 0,
    entropy: 0.7,
    endOfGeneration: false,
    ...partial,
  };
}

/** EOG logit by position for the variable-length model: unlikely to end at once, likelier later. */
function eogLogits(salt: number): LogitsFn {
  const base = hashLogits(4, salt);
  const eog = [-3, -1, -0.5];
  return (prefix) => {
    const z = base(prefix);
    z[3] = eog[prefix.length] ?? 0;
    return z;
  };
}

// ---------------------------------------------------------------------------------------------

describe("its metrics", () => {
  const s = step({ logprob: -1.2, proposalLogprob: -0.4, entropy: 0.9 });

  it("computes each metric per token (T = 0.5)", () => {
    assert.equal(tokenMetric(s, "logprobs", 0.5), -0.4);
    assert.equal(tokenMetric(s, "power_distribution", 0.5), -2.4);
    assert.equal(tokenMetric(s, "entropy", 0.5), 0.9);
    assert.ok(Math.abs(tokenMetric(s, "likelihood_confidence", 0.5) - -1.3) < 1e-12);
    assert.equal(tokenScore(s, "entropy", 0.5), -0.9);
    assert.equal(tokenScore(s, "logprobs", 0.5), -0.4);
  });

  it("scores a sequence by the mean, entropy negated; empty is -Infinity", () => {
    const steps = [
      step({ proposalLogprob: -1, logprob: -2, entropy: 1 }),
      step({ proposalLogprob: -3, logprob: -4, entropy: 2 }),
    ];
    assert.equal(sequenceScore(steps, "logprobs", 1), -2);
    assert.equal(sequenceScore(steps, "power_distribution", 0.25), -12);
    assert.equal(sequenceScore(steps, "entropy", 1), -1.5);
    assert.equal(sequenceScore(steps, "likelihood_confidence", 1), -3.5);
    for (const m of ["logprobs", "power_distribution", "entropy", "likelihood_confidence"] as TokenMetric[]) {
      assert.equal(sequenceScore([], m, 1), -Infinity);
    }
  });

  it("needs entropy for entropy and likelihood_confidence, and throws without it", () => {
    assert.equal(metricNeedsEntropy("entropy"), true);
    assert.equal(metricNeedsEntropy("likelihood_confidence"), true);
    assert.equal(metricNeedsEntropy("logprobs"), false);
    assert.equal(metricNeedsEntropy("power_distribution"), false);
    const bare = step({ entropy: null });
    assert.throws(() => tokenMetric(bare, "entropy", 1), /entropy/);
    assert.throws(() => sequenceScore([bare], "likelihood_confidence", 1), /entropy/);
    assert.equal(sequenceScore([bare], "logprobs", 1), bare.proposalLogprob);
  });

  it("ranks best first, lower index first on ties", () => {
    assert.deepEqual(rankByScore([1, 3, 3, -Infinity, 2]), [1, 2, 4, 0, 3]);
    assert.deepEqual(rankByScore([0, 0, 0]), [0, 1, 2]);
  });
});

describe("its random", () => {
  it("reproduces a stream from its seed and gives doubles in [0, 1)", () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05);
  });

  it("derives distinct sub-seeds", () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 1000; i++) seeds.add(deriveSeed(7, i));
    for (let i = 0; i < 1000; i++) seeds.add(deriveSeed(8, i));
    assert.equal(seeds.size, 2000);
    assert.equal(deriveSeed(7, 3), deriveSeed(7, 3));
    assert.ok([...seeds].every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32));
  });
});

describe("power sampling", () => {
  const alpha = 4;
  const runs = 3000;

  it("samples p(x)^α over 27 answers (one block), where plain sampling at T = 1/α does not", async () => {
    const model = { vocab: 3, maxTokens: 3, salt: 30 };
    const { target, plain } = exactDistributions(
      new FakeScalingSession({ ...model, seed: 0, temperature: 1 / alpha }),
      alpha,
    );
    assert.equal(target.size, 27);
    assert.ok(totalVariation(target, plain) > 0.1, "the toy model must tell the two distributions apart");

    const sampled = chiSquare(await samplePowerRuns(model, { blockSize: 3, mcmcSteps: 20, alpha }, runs), target, runs);
    assert.ok(
      sampled.stat < sampled.critical,
      `power sampling: χ² ${sampled.stat} ≥ ${sampled.critical} (dof ${sampled.dof})`,
    );

    const proposals = chiSquare(
      await samplePowerRuns(model, { blockSize: 3, mcmcSteps: 0, alpha }, runs),
      target,
      runs,
    );
    assert.ok(
      proposals.stat > proposals.critical,
      `plain sampling should be rejected: χ² ${proposals.stat} (dof ${proposals.dof})`,
    );
  });

  it("converges to the same target block by block (blockSize 1)", async () => {
    const model = { vocab: 3, maxTokens: 3, salt: 30 };
    const { target } = exactDistributions(new FakeScalingSession({ ...model, seed: 0, temperature: 1 / alpha }), alpha);
    const sampled = chiSquare(await samplePowerRuns(model, { blockSize: 1, mcmcSteps: 20, alpha }, runs), target, runs);
    assert.ok(sampled.stat < sampled.critical, `χ² ${sampled.stat} ≥ ${sampled.critical} (dof ${sampled.dof})`);
  });

  it("samples p(x)^α over complete answers of varying length (end-of-generation)", async () => {
    const a = 2;
    const model = { vocab: 3, eog: true, maxTokens: 3, logits: eogLogits(40) };
    const { target, plain } = exactDistributions(new FakeScalingSession({ ...model, seed: 0, temperature: 1 / a }), a);
    assert.equal(target.size, 40);
    assert.ok(totalVariation(target, plain) > 0.1);
    const counts = await samplePowerRuns(model, { blockSize: 3, mcmcSteps: 20, alpha: a }, runs);
    assert.ok(
      [...counts.keys()].some((k) => k.split(",").length < 3),
      "some answers end early",
    );
    const sampled = chiSquare(counts, target, runs);
    assert.ok(sampled.stat < sampled.critical, `χ² ${sampled.stat} ≥ ${sampled.critical} (dof ${sampled.dof})`);
  });

  it("reports blocks, counts tokens, aligns steps, and runs n chains concurrently", async () => {
    const session = new FakeScalingSession({ vocab: 4, maxTokens: 7, seed: 5, temperature: 0.5 });
    const events: unknown[] = [];
    const result = await runIts(
      session,
      { method: "power_sampling", power: { blockSize: 2, mcmcSteps: 3, alpha: 2 } },
      { temperature: 0.5, seed: 9, n: 3, onProgress: (p) => events.push(p) },
    );
    assert.equal(result.choices.length, 3);
    assert.equal(session.live, 0);
    assert.ok(session.maxInFlight >= 3);
    const ps = result.diagnostics.powerSampling!;
    assert.equal(ps.chains.length, 3);
    let proposals = 0;
    let accepted = 0;
    for (const blocks of ps.chains) {
      assert.deepEqual(
        blocks.map((b) => b.length),
        [2, 4, 6, 7],
      );
      for (const b of blocks) {
        assert.equal(b.proposals + b.skipped, 3);
        assert.equal(b.skipped, 0);
        proposals += b.proposals;
        accepted += b.accepted;
      }
    }
    assert.equal(ps.acceptanceRate, accepted / proposals);
    assert.equal(events.filter((e) => (e as { event: string }).event === "block").length, 12);
    for (const choice of result.choices) {
      assert.equal(choice.tokens.length, 7);
      assert.equal(choice.finishReason, "length");
      assert.equal(choice.score, null);
      assertStepsMatchModel(session, choice.tokens, choice.steps);
    }
    assert.equal(result.diagnostics.method, "power_sampling");
    assert.equal(result.diagnostics.tokensEvaluated, session.tokensEvaluated);
    assert.equal(result.diagnostics.tokensSampled, session.tokensEvaluated - session.promptTokens);
  });

  it("skips positions past an early end and finishes with stop", async () => {
    let sawStop = false;
    let skipped = 0;
    for (let seed = 0; seed < 20; seed++) {
      const session = new FakeScalingSession({
        vocab: 3,
        eog: true,
        maxTokens: 6,
        seed,
        temperature: 0.5,
        logits: () => [0, 0, 0, 0.5],
      });
      const result = await runIts(
        session,
        { method: "power_sampling", power: { blockSize: 6, mcmcSteps: 4, alpha: 2 } },
        { temperature: 0.5, seed },
      );
      const choice = result.choices[0]!;
      assertStepsMatchModel(session, choice.tokens, choice.steps);
      if (choice.finishReason === "stop") {
        sawStop = true;
        assert.equal(choice.tokens[choice.tokens.length - 1], 3);
      }
      for (const b of result.diagnostics.powerSampling!.chains[0]!) {
        assert.equal(b.proposals + b.skipped, 4);
        skipped += b.skipped;
      }
      assert.equal(session.live, 0);
    }
    assert.ok(sawStop);
    assert.ok(skipped > 0);
  });
});

describe("smc", () => {
  const base = { method: "smc", metric: "logprobs", stopOnEos: true } as const;

  it("with one particle draws exactly what one chain extended step by step draws", async () => {
    const options = { vocab: 5, eog: true, maxTokens: 11, seed: 7, temperature: 0.8, salt: 3 };
    for (const k of [1, 2, 3]) {
      const session = new FakeScalingSession(options);
      const spec: ItsSpec = { ...base, particles: 1, tokensPerStep: k, resampling: "systematic", essThreshold: 1 };
      const result = await runIts(session, spec, { temperature: 0.8, seed: 1 });

      const reference = new FakeScalingSession(options);
      const chain = reference.chain();
      const steps: ScoredStep[] = [];
      let extensions = 0;
      while (!chain.done) {
        steps.push(...(await chain.extend(k)));
        extensions++;
      }
      chain.dispose();
      assert.deepEqual(result.choices[0]!.steps, steps);
      assert.equal(result.diagnostics.smc!.steps, extensions);
      assert.deepEqual(result.diagnostics.smc!.resampling, []);
      assert.equal(session.forks, 0);
      assert.equal(session.live, 0);
    }
  });

  for (const resampling of ["systematic", "multinomial"] as const) {
    it(`keeps N particles through ${resampling} resampling and never copies finished ones`, async () => {
      let events = 0;
      for (let seed = 0; seed < 5; seed++) {
        const session = new FakeScalingSession({
          vocab: 4,
          eog: true,
          maxTokens: 12,
          seed,
          temperature: 0.7,
          logits: eogLogits(seed),
        });
        const particles = 6;
        const progress: { step: number; resampled: boolean }[] = [];
        const result = await runIts(
          session,
          { ...base, particles, tokensPerStep: 2, resampling, essThreshold: 1 },
          { temperature: 0.7, seed, onProgress: (p) => p.event === "smc_step" && progress.push(p) },
        );
        const smc = result.diagnostics.smc!;
        events += smc.resampling.length;
        for (const event of smc.resampling) {
          assert.equal(event.ancestors.length, particles);
          assert.ok(event.ancestors.every((a) => Number.isInteger(a) && a >= 0 && a < particles));
          assert.ok(event.ess >= 1 && event.ess <= particles);
        }
        assert.equal(progress.length, smc.steps);
        assert.deepEqual(
          progress.filter((p) => p.resampled).map((p) => p.step),
          smc.resampling.map((e) => e.step),
        );
        assert.equal(session.forksOfDoneChains, 0, "a finished particle was copied");
        // Every chain disposed while done is a final particle: no finished slot was overwritten.
        assert.equal(session.disposedDone, particles);
        assert.equal(session.live, 0);
        assert.ok(session.maxInFlight >= particles, "the first step's extends run concurrently");

        assert.equal(smc.finalScores.length, particles);
        assert.equal(smc.finalWeights.length, particles);
        assert.ok(Math.abs(smc.finalWeights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
        const choice = result.choices[0]!;
        assertStepsMatchModel(session, choice.tokens, choice.steps);
        const recomputed = choice.steps.reduce((s, x) => s + x.proposalLogprob, 0) / choice.steps.length;
        assert.ok(Math.abs(recomputed - choice.score!) < 1e-12);
        assert.equal(choice.score, Math.max(...smc.finalScores));
        assert.equal(smc.finalScores.indexOf(choice.score!), smc.finalScores.indexOf(Math.max(...smc.finalScores)));
      }
      assert.ok(events > 0, "resampling happened");
    });
  }

  it("samples each step by power sampling with `power`", async () => {
    const session = new FakeScalingSession({
      vocab: 4,
      eog: true,
      maxTokens: 9,
      seed: 3,
      temperature: 0.5,
      logits: eogLogits(2),
    });
    const result = await runIts(
      session,
      {
        ...base,
        metric: "power_distribution",
        particles: 4,
        tokensPerStep: 3,
        resampling: "systematic",
        essThreshold: 0.9,
        power: { blockSize: 2, mcmcSteps: 2, alpha: 2 },
      },
      { temperature: 0.5, seed: 4 },
    );
    const ps = result.diagnostics.powerSampling!;
    assert.equal(ps.chains.length, 4);
    assert.ok(ps.chains.every((blocks) => blocks.length > 0));
    assert.ok(ps.acceptanceRate !== null && ps.acceptanceRate >= 0 && ps.acceptanceRate <= 1);
    const choice = result.choices[0]!;
    assertStepsMatchModel(session, choice.tokens, choice.steps);
    const recomputed = choice.steps.reduce((s, x) => s + x.logprob / 0.5, 0) / choice.steps.length;
    assert.ok(Math.abs(recomputed - choice.score!) < 1e-12);
    assert.equal(result.diagnostics.tokensSampled, session.tokensEvaluated - session.promptTokens);
    assert.equal(session.live, 0);
  });

  it("resamples systematically within floor/ceil of M·w, multinomially in proportion", () => {
    const rng = createPrng(11);
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + (trial % 7);
      const weights = normalizeLogWeights(Array.from({ length: m }, () => rng() * 4));
      const counts = new Array<number>(m).fill(0);
      for (const a of resampleAncestors(weights, "systematic", rng)) counts[a]!++;
      weights.forEach((w, i) => {
        assert.ok(
          counts[i]! >= Math.floor(m * w - 1e-9) && counts[i]! <= Math.ceil(m * w + 1e-9),
          `count ${counts[i]} for M·w ${m * w}`,
        );
      });
    }
    const weights = [0.5, 0.3, 0.2, 0];
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 5000; i++) for (const a of resampleAncestors(weights, "multinomial", rng)) counts[a]!++;
    weights.forEach((w, i) => assert.ok(Math.abs(counts[i]! / 20000 - w) < 0.02));
    assert.equal(counts[3], 0);
    assert.equal(effectiveSampleSize([0.25, 0.25, 0.25, 0.25]), 4);
    assert.deepEqual(normalizeLogWeights([-Infinity, -Infinity]), [0.5, 0.5]);
  });
});

describe("best-of-n", () => {
  it("returns top_k best first with scores recomputed from the steps", async () => {
    const session = new FakeScalingSession({
      vocab: 4,
      eog: true,
      maxTokens: 8,
      seed: 21,
      temperature: 0.9,
      logits: eogLogits(5),
    });
    const candidates: number[] = [];
    const result = await runIts(
      session,
      { method: "best_of_n", n: 6, metric: "likelihood_confidence", keepBest: 3 },
      { temperature: 0.9, seed: 2, onProgress: (p) => p.event === "candidate" && candidates.push(p.candidate) },
    );
    const { scores, chosen } = result.diagnostics.bestOfN!;
    assert.equal(scores.length, 6);
    assert.equal(chosen.length, 3);
    assert.deepEqual([...candidates].sort(), [0, 1, 2, 3, 4, 5]);
    const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
    assert.deepEqual(chosen, order.slice(0, 3));
    result.choices.forEach((choice, j) => {
      assertStepsMatchModel(session, choice.tokens, choice.steps);
      const recomputed = choice.steps.reduce((s, x) => s + (x.proposalLogprob - x.entropy!), 0) / choice.steps.length;
      assert.ok(Math.abs(recomputed - choice.score!) < 1e-12);
      assert.equal(choice.score, scores[chosen[j]!]);
      if (j > 0) assert.ok(choice.score! <= result.choices[j - 1]!.score!);
      assert.equal(choice.finishReason, choice.steps[choice.steps.length - 1]!.endOfGeneration ? "stop" : "length");
    });
    assert.ok(session.maxInFlight >= 6, "candidates are generated concurrently");
    assert.equal(session.live, 0);
  });

  it("breaks ties by candidate index", async () => {
    const session = new FakeScalingSession({
      vocab: 3,
      maxTokens: 4,
      seed: 1,
      temperature: 0.5,
      logits: () => [0, 0, 0],
    });
    const result = await runIts(
      session,
      { method: "best_of_n", n: 5, metric: "logprobs", keepBest: 3 },
      { temperature: 0.5, seed: 1 },
    );
    assert.deepEqual(result.diagnostics.bestOfN!.chosen, [0, 1, 2]);
    assert.ok(
      result.diagnostics.bestOfN!.scores.every((s) => s === Math.log(1 / 3) || Math.abs(s - Math.log(1 / 3)) < 1e-15),
    );
    assert.equal(session.live, 0);
  });

  it("power-samples each candidate with `power`", async () => {
    const session = new FakeScalingSession({ vocab: 3, maxTokens: 5, seed: 8, temperature: 0.5, salt: 4 });
    const result = await runIts(
      session,
      {
        method: "best_of_n",
        n: 3,
        metric: "power_distribution",
        keepBest: 1,
        power: { blockSize: 2, mcmcSteps: 3, alpha: 2 },
      },
      { temperature: 0.5, seed: 3 },
    );
    const ps = result.diagnostics.powerSampling!;
    assert.equal(ps.chains.length, 3);
    assert.ok(ps.chains.every((blocks) => blocks.map((b) => b.length).join() === "2,4,5"));
    assert.equal(result.choices.length, 1);
    assertStepsMatchModel(session, result.choices[0]!.tokens, result.choices[0]!.steps);
    assert.equal(session.live, 0);
  });

  it("rejects an entropy metric when the session has no entropy, disposing its chains", async () => {
    const session = new FakeScalingSession({ vocab: 3, maxTokens: 4, seed: 1, temperature: 1, entropy: false });
    await assert.rejects(
      runIts(session, { method: "best_of_n", n: 3, metric: "entropy", keepBest: 1 }, { temperature: 1, seed: 1 }),
      /entropy/,
    );
    assert.equal(session.live, 0);
  });
});

describe("its runs", () => {
  const specs: ItsSpec[] = [
    { method: "power_sampling", power: { blockSize: 3, mcmcSteps: 4, alpha: 2 } },
    {
      method: "smc",
      particles: 5,
      tokensPerStep: 2,
      metric: "entropy",
      resampling: "multinomial",
      essThreshold: 0.8,
      stopOnEos: true,
    },
    {
      method: "smc",
      particles: 3,
      tokensPerStep: 3,
      metric: "logprobs",
      resampling: "systematic",
      essThreshold: 1,
      stopOnEos: false,
      power: { blockSize: 2, mcmcSteps: 2, alpha: 2 },
    },
    {
      method: "best_of_n",
      n: 4,
      metric: "power_distribution",
      keepBest: 2,
      power: { blockSize: 4, mcmcSteps: 3, alpha: 2 },
    },
  ];
  const sessionOptions = { vocab: 4, eog: true, maxTokens: 10, seed: 12, temperature: 0.5, logits: eogLogits(9) };

  for (const spec of specs) {
    const label = spec.method !== "power_sampling" && spec.power ? `${spec.method} (power)` : spec.method;

    it(`${label}: the same seed reproduces the run; every chain is disposed`, async () => {
      const runs: ItsResult[] = [];
      for (let i = 0; i < 2; i++) {
        const session = new FakeScalingSession(sessionOptions);
        runs.push(await runIts(session, spec, { temperature: 0.5, seed: 99, n: 2 }));
        assert.equal(session.live, 0);
        assert.ok(session.created > 1);
      }
      assert.deepEqual(withoutTime(runs[0]!), withoutTime(runs[1]!));
    });

    it(`${label}: cancelling rejects with EngineError("aborted") and leaks no chain`, async () => {
      const controller = new AbortController();
      const session = new FakeScalingSession({ ...sessionOptions, signal: controller.signal });
      await assert.rejects(
        runIts(session, spec, {
          temperature: 0.5,
          seed: 1,
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }),
        (e: unknown) => e instanceof EngineError && e.kind === "aborted",
      );
      assert.equal(session.live, 0);
    });
  }
});
