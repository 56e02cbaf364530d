// The compute cap's estimate: the most tokens a scaling request can make the model evaluate.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { worstCaseTokens } from "../../src/its/budget.js";
import { runIts } from "../../src/its/run.js";
import type { ItsSpec } from "../../src/its/types.js";
import { FakeScalingSession } from "../helpers/fake-scaling-session.js";

const power = { blockSize: 64, mcmcSteps: 8, alpha: 4 };

describe("its compute estimate", () => {
  it("counts every block's extension and every proposal at its longest", () => {
    // Block 1: 64 tokens + 1 evaluated again, 8 proposals of up to 64 + 1; block 2: the same up to 128.
    assert.equal(worstCaseTokens({ method: "power_sampling", power }, 500, 128), 500 + (65 + 8 * 65) + (65 + 8 * 129));
    assert.equal(
      worstCaseTokens({ method: "power_sampling", power }, 500, 128, 3),
      500 + 3 * (65 + 8 * 65 + 65 + 8 * 129),
    );
    assert.equal(worstCaseTokens({ method: "best_of_n", n: 4, keepBest: 1, metric: "logprobs" }, 10, 20), 10 + 4 * 21);
    const smc: ItsSpec = {
      method: "smc",
      particles: 5,
      tokensPerStep: 4,
      metric: "logprobs",
      resampling: "multinomial",
      essThreshold: 0.5,
      stopOnEos: true,
    };
    assert.equal(worstCaseTokens(smc, 10, 10), 10 + 5 * 3 * 5);
  });

  it("bounds what runs really sample", async () => {
    const specs: ItsSpec[] = [
      { method: "power_sampling", power: { blockSize: 3, mcmcSteps: 5, alpha: 2 } },
      {
        method: "smc",
        particles: 4,
        tokensPerStep: 2,
        metric: "logprobs",
        resampling: "systematic",
        essThreshold: 1,
        stopOnEos: true,
        power: { blockSize: 2, mcmcSteps: 2, alpha: 2 },
      },
      { method: "best_of_n", n: 3, keepBest: 2, metric: "logprobs", power: { blockSize: 4, mcmcSteps: 3, alpha: 2 } },
    ];
    for (const spec of specs) {
      const session = new FakeScalingSession({ vocab: 3, maxTokens: 9, seed: 4, temperature: 0.5 });
      const result = await runIts(session, spec, { temperature: 0.5, seed: 4 });
      const worst = worstCaseTokens(spec, session.promptTokens, session.maxTokens);
      assert.ok(
        result.diagnostics.tokensSampled + session.promptTokens <= worst,
        `${spec.method}: sampled ${result.diagnostics.tokensSampled}, estimate ${worst}`,
      );
    }
  });
});
