// The `its` request extension: schema (defaults, bounds, strictness), the mapping onto the
// engine's ItsSpec (alpha and temperature), PITA's system-prompt codes, and the `its` field of
// responses and stream chunks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildChatCompletion, ChatStreamBuilder } from "../../../../src/endpoints/chat-completions/response.js";
import {
  parseChatCompletionRequest,
  type ChatMessageParam,
} from "../../../../src/endpoints/chat-completions/schema.js";
import { EXTENSION_PARAMETERS } from "../../../../src/endpoints/shared/request-fields.js";
import { buildCompletion, CompletionStreamBuilder } from "../../../../src/endpoints/completions/response.js";
import { parseCompletionRequest } from "../../../../src/endpoints/completions/schema.js";
import { ApiError } from "../../../../src/endpoints/shared/errors.js";
import {
  ITS_CODE_GRAMMAR,
  extractItsCode,
  parseItsCode,
  resolveChatIts,
} from "../../../../src/endpoints/shared/its/code.js";
import { wireItsDiagnostics } from "../../../../src/endpoints/shared/its/diagnostics.js";
import { itsSchema, itsSpecFromRequest, type ItsParams } from "../../../../src/endpoints/shared/its/schema.js";
import { parseWith } from "../../../../src/endpoints/shared/validation.js";
import type { ItsDiagnostics } from "../../../../src/its/types.js";

const chatBase = { model: "m", messages: [{ role: "user", content: "hi" }] };
const completionBase = { model: "m", prompt: "hi" };

function parseIts(its: unknown): ItsParams {
  return parseWith(itsSchema, its);
}

function expect400(fn: () => unknown, expected: { param: string | null; code?: string; message?: RegExp }): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected ApiError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.type, "invalid_request_error");
    assert.equal(e.param, expected.param, e.message);
    if (expected.code !== undefined) assert.equal(e.code, expected.code, e.message);
    if (expected.message) assert.match(e.message, expected.message);
    return e;
  }
  assert.fail("accepted");
}

/** A chat request's `its` rejected: the param is its path inside the request. */
function rejectsIts(its: unknown, param: string, code?: string): ApiError {
  return expect400(() => parseChatCompletionRequest({ ...chatBase, its }), { param, code });
}

const PS_DEFAULTS = { block_size: 192, mcmc_steps: 8 };

describe("its schema: defaults", () => {
  it("fills power_sampling's defaults, alpha left unset", () => {
    assert.deepEqual(parseIts({ method: "power_sampling" }), { method: "power_sampling", ...PS_DEFAULTS });
  });

  it("fills smc's defaults", () => {
    assert.deepEqual(parseIts({ method: "smc" }), {
      method: "smc",
      num_particles: 10,
      tokens_per_step: 5,
      metric: "logprobs",
      resampling: "multinomial",
      ess_threshold: 0.5,
      stop_on_eos: true,
    });
  });

  it("fills best_of_n's defaults", () => {
    assert.deepEqual(parseIts({ method: "best_of_n" }), { method: "best_of_n", n: 8, metric: "logprobs", top_k: 1 });
  });

  it("fills the defaults of a nested power_sampling and keeps given values", () => {
    assert.deepEqual(
      parseIts({ method: "smc", num_particles: 4, metric: "entropy", resampling: "systematic", power_sampling: {} }),
      {
        method: "smc",
        num_particles: 4,
        tokens_per_step: 5,
        metric: "entropy",
        resampling: "systematic",
        ess_threshold: 0.5,
        stop_on_eos: true,
        power_sampling: PS_DEFAULTS,
      },
    );
    assert.deepEqual(parseIts({ method: "best_of_n", n: 4, top_k: 4, power_sampling: { block_size: 16, alpha: 2 } }), {
      method: "best_of_n",
      n: 4,
      metric: "logprobs",
      top_k: 4,
      power_sampling: { block_size: 16, mcmc_steps: 8, alpha: 2 },
    });
  });

  it("accepts every metric and the bounds themselves", () => {
    for (const metric of ["logprobs", "power_distribution", "entropy", "likelihood_confidence"])
      parseIts({ method: "best_of_n", metric });
    parseIts({ method: "power_sampling", block_size: 1, mcmc_steps: 0, alpha: 1 });
    parseIts({ method: "power_sampling", block_size: 4096, mcmc_steps: 1024, alpha: 100 });
    parseIts({ method: "smc", num_particles: 64, tokens_per_step: 4096, ess_threshold: 0 });
    parseIts({ method: "smc", num_particles: 1, tokens_per_step: 1, ess_threshold: 1, stop_on_eos: false });
    parseIts({ method: "best_of_n", n: 64, top_k: 64 });
  });
});

describe("its schema: rejected", () => {
  const bounds: [unknown, string, string][] = [
    [{ method: "power_sampling", block_size: 0 }, "its.block_size", "integer_below_min_value"],
    [{ method: "power_sampling", block_size: 4097 }, "its.block_size", "integer_above_max_value"],
    [{ method: "power_sampling", block_size: 1.5 }, "its.block_size", "invalid_type"],
    [{ method: "power_sampling", mcmc_steps: -1 }, "its.mcmc_steps", "integer_below_min_value"],
    [{ method: "power_sampling", mcmc_steps: 1025 }, "its.mcmc_steps", "integer_above_max_value"],
    [{ method: "power_sampling", alpha: 0.99 }, "its.alpha", "decimal_below_min_value"],
    [{ method: "power_sampling", alpha: 100.5 }, "its.alpha", "decimal_above_max_value"],
    [{ method: "power_sampling", alpha: "4" }, "its.alpha", "invalid_type"],
    [{ method: "smc", num_particles: 0 }, "its.num_particles", "integer_below_min_value"],
    [{ method: "smc", num_particles: 65 }, "its.num_particles", "integer_above_max_value"],
    [{ method: "smc", tokens_per_step: 0 }, "its.tokens_per_step", "integer_below_min_value"],
    [{ method: "smc", tokens_per_step: 4097 }, "its.tokens_per_step", "integer_above_max_value"],
    [{ method: "smc", ess_threshold: -0.1 }, "its.ess_threshold", "decimal_below_min_value"],
    [{ method: "smc", ess_threshold: 1.1 }, "its.ess_threshold", "decimal_above_max_value"],
    [{ method: "smc", stop_on_eos: 1 }, "its.stop_on_eos", "invalid_type"],
    [{ method: "smc", metric: "perplexity" }, "its.metric", "invalid_value"],
    [{ method: "smc", resampling: "stratified" }, "its.resampling", "invalid_value"],
    [{ method: "smc", power_sampling: { block_size: 0 } }, "its.power_sampling.block_size", "integer_below_min_value"],
    [{ method: "smc", power_sampling: { alpha: 101 } }, "its.power_sampling.alpha", "decimal_above_max_value"],
    [{ method: "best_of_n", n: 0 }, "its.n", "integer_below_min_value"],
    [{ method: "best_of_n", n: 65 }, "its.n", "integer_above_max_value"],
    [{ method: "best_of_n", top_k: 0 }, "its.top_k", "integer_below_min_value"],
    [
      { method: "best_of_n", power_sampling: { mcmc_steps: 2000 } },
      "its.power_sampling.mcmc_steps",
      "integer_above_max_value",
    ],
  ];
  for (const [its, param, code] of bounds) {
    it(`rejects ${JSON.stringify(its)} (${param})`, () => {
      rejectsIts(its, param, code);
    });
  }

  it("rejects top_k above n", () => {
    rejectsIts({ method: "best_of_n", n: 2, top_k: 3 }, "its.top_k", "invalid_value");
    rejectsIts({ method: "best_of_n", top_k: 9 }, "its.top_k", "invalid_value"); // n defaults to 8
  });

  it("rejects unknown keys, naming them", () => {
    const e = rejectsIts({ method: "smc", particles: 4 }, "its.particles", "unknown_parameter");
    assert.match(e.message, /its\.particles/);
    rejectsIts({ method: "power_sampling", n: 4 }, "its.n", "unknown_parameter");
    rejectsIts(
      { method: "best_of_n", power_sampling: { method: "x" } },
      "its.power_sampling.method",
      "unknown_parameter",
    );
  });

  it("requires a known method", () => {
    rejectsIts({ block_size: 4 }, "its.method", "missing_required_parameter");
    const e = rejectsIts({ method: "beam" }, "its.method", "invalid_value");
    assert.match(e.message, /power_sampling/);
    rejectsIts("smc", "its", "invalid_type");
  });
});

describe("its on the request schemas", () => {
  it("the chat parser accepts a valid its (and null) and rejects an invalid one", () => {
    const req = parseChatCompletionRequest({ ...chatBase, its: { method: "best_of_n", n: 3 } });
    assert.deepEqual(req.its, { method: "best_of_n", n: 3, metric: "logprobs", top_k: 1 });
    assert.equal(parseChatCompletionRequest({ ...chatBase, its: null }).its, null);
    assert.equal(parseChatCompletionRequest(chatBase).its, undefined);
    rejectsIts({ method: "smc", num_particles: 100 }, "its.num_particles", "integer_above_max_value");
  });

  it("the completions parser accepts a valid its and rejects an invalid one", () => {
    const req = parseCompletionRequest({ ...completionBase, its: { method: "power_sampling", alpha: 2 } });
    assert.deepEqual(req.its, { method: "power_sampling", ...PS_DEFAULTS, alpha: 2 });
    expect400(() => parseCompletionRequest({ ...completionBase, its: { method: "power_sampling", bogus: true } }), {
      param: "its.bogus",
      code: "unknown_parameter",
    });
    expect400(() => parseCompletionRequest({ ...completionBase, its: { method: "best_of_n", n: 1, top_k: 2 } }), {
      param: "its.top_k",
    });
  });

  it("lists its as lavash's extension of both endpoints", () => {
    assert.equal(EXTENSION_PARAMETERS.its?.origin, "lavash");
    assert.deepEqual(EXTENSION_PARAMETERS.its?.endpoints, ["chat", "completions"]);
  });
});

describe("itsSpecFromRequest", () => {
  it("maps power_sampling, alpha defaulting to 4 without a temperature", () => {
    assert.deepEqual(itsSpecFromRequest(parseIts({ method: "power_sampling" }), undefined), {
      method: "power_sampling",
      power: { blockSize: 192, mcmcSteps: 8, alpha: 4 },
    });
    assert.deepEqual(itsSpecFromRequest(parseIts({ method: "power_sampling" }), null), {
      method: "power_sampling",
      power: { blockSize: 192, mcmcSteps: 8, alpha: 4 },
    });
  });

  it("takes alpha = 1/temperature when alpha is not given", () => {
    const spec = itsSpecFromRequest(parseIts({ method: "power_sampling", block_size: 32 }), 0.25);
    assert.deepEqual(spec, { method: "power_sampling", power: { blockSize: 32, mcmcSteps: 8, alpha: 4 } });
    const half = itsSpecFromRequest(parseIts({ method: "power_sampling" }), 0.5);
    assert.equal(half.method === "power_sampling" && half.power.alpha, 2);
  });

  it("keeps an explicit alpha, and accepts a temperature that agrees with it", () => {
    const alone = itsSpecFromRequest(parseIts({ method: "power_sampling", alpha: 3 }), undefined);
    assert.equal(alone.method === "power_sampling" && alone.power.alpha, 3);
    const agreeing = itsSpecFromRequest(parseIts({ method: "power_sampling", alpha: 3 }), 1 / 3);
    assert.equal(agreeing.method === "power_sampling" && agreeing.power.alpha, 3);
    const almost = itsSpecFromRequest(parseIts({ method: "power_sampling", alpha: 3 }), 0.3333333333333);
    assert.equal(almost.method === "power_sampling" && almost.power.alpha, 3);
  });

  it("rejects a temperature that contradicts alpha", () => {
    const e = expect400(() => itsSpecFromRequest(parseIts({ method: "power_sampling", alpha: 4 }), 0.7), {
      param: "temperature",
    });
    assert.match(e.message, /T = 1\/alpha/);
    expect400(() => itsSpecFromRequest(parseIts({ method: "smc", power_sampling: { alpha: 2 } }), 1), {
      param: "temperature",
    });
    expect400(() => itsSpecFromRequest(parseIts({ method: "best_of_n", power_sampling: { alpha: 2 } }), 0.25), {
      param: "temperature",
    });
  });

  it("rejects a temperature whose 1/temperature is outside alpha's range", () => {
    expect400(() => itsSpecFromRequest(parseIts({ method: "power_sampling" }), 1.5), { param: "temperature" });
    expect400(() => itsSpecFromRequest(parseIts({ method: "power_sampling" }), 0.001), { param: "temperature" });
    const one = itsSpecFromRequest(parseIts({ method: "power_sampling" }), 1);
    assert.equal(one.method === "power_sampling" && one.power.alpha, 1);
  });

  it("rejects temperature 0 with every method", () => {
    for (const its of [
      { method: "power_sampling" },
      { method: "smc" },
      { method: "best_of_n" },
      { method: "power_sampling", alpha: 4 },
    ]) {
      const e = expect400(() => itsSpecFromRequest(parseIts(its), 0), { param: "temperature", code: "invalid_value" });
      assert.match(e.message, /stochastic/);
    }
  });

  it("maps smc and best_of_n; their temperature is the proposal's, without alpha", () => {
    assert.deepEqual(itsSpecFromRequest(parseIts({ method: "smc", stop_on_eos: false }), 1.7), {
      method: "smc",
      particles: 10,
      tokensPerStep: 5,
      metric: "logprobs",
      resampling: "multinomial",
      essThreshold: 0.5,
      stopOnEos: false,
    });
    assert.deepEqual(itsSpecFromRequest(parseIts({ method: "best_of_n", n: 4, top_k: 2, metric: "entropy" }), 2), {
      method: "best_of_n",
      n: 4,
      metric: "entropy",
      keepBest: 2,
    });
  });

  it("maps a nested power_sampling with the alpha rules", () => {
    assert.deepEqual(itsSpecFromRequest(parseIts({ method: "smc", power_sampling: {} }), 0.5), {
      method: "smc",
      particles: 10,
      tokensPerStep: 5,
      metric: "logprobs",
      resampling: "multinomial",
      essThreshold: 0.5,
      stopOnEos: true,
      power: { blockSize: 192, mcmcSteps: 8, alpha: 2 },
    });
    assert.deepEqual(
      itsSpecFromRequest(parseIts({ method: "best_of_n", power_sampling: { block_size: 64 } }), undefined),
      {
        method: "best_of_n",
        n: 8,
        metric: "logprobs",
        keepBest: 1,
        power: { blockSize: 64, mcmcSteps: 8, alpha: 4 },
      },
    );
  });
});

const system = (content: string): ChatMessageParam => ({ role: "system", content });
const user = (content: string): ChatMessageParam => ({ role: "user", content });

describe("PITA system-prompt codes", () => {
  const examples: [string, ItsParams | null][] = [
    [
      "ITS_SMC_10_5_1_PS_192_8",
      {
        method: "smc",
        num_particles: 10,
        tokens_per_step: 5,
        metric: "logprobs",
        resampling: "multinomial",
        ess_threshold: 1,
        stop_on_eos: true,
        power_sampling: { block_size: 192, mcmc_steps: 8 },
      },
    ],
    [
      "ITS_SMC_4_16_0_NONE",
      {
        method: "smc",
        num_particles: 4,
        tokens_per_step: 16,
        metric: "logprobs",
        resampling: "multinomial",
        ess_threshold: 1,
        stop_on_eos: false,
      },
    ],
    ["ITS_NONE_PS_192_8", { method: "power_sampling", block_size: 192, mcmc_steps: 8 }],
    ["ITS_BO_8_2_NONE", { method: "best_of_n", n: 8, top_k: 2, metric: "logprobs" }],
    [
      "ITS_BO_5_2_PS_64_3",
      { method: "best_of_n", n: 5, top_k: 2, metric: "logprobs", power_sampling: { block_size: 64, mcmc_steps: 3 } },
    ],
    ["ITS_NONE_NONE", null],
  ];
  for (const [code, expected] of examples) {
    it(`parses ${code} and strips it`, () => {
      assert.deepEqual(parseItsCode(code), expected);
      const out = extractItsCode([system(`${code} You are helpful.`), user("hi")]);
      assert.equal(out.found, true);
      assert.deepEqual(out.its, expected);
      assert.deepEqual(out.messages, [system("You are helpful."), user("hi")]);
    });
  }

  it("keeps the content after the code exactly, and allows it to be empty", () => {
    const out = extractItsCode([system("ITS_NONE_PS_192_8 You are helpful.")]);
    assert.equal(out.messages[0]!.content, "You are helpful.");
    const multi = extractItsCode([system("ITS_NONE_PS_192_8\n\n  Line one.\n  Line two.  ")]);
    assert.equal(multi.messages[0]!.content, "Line one.\n  Line two.  ");
    const only = extractItsCode([system("ITS_BO_8_2_NONE"), user("hi")]);
    assert.equal(only.messages[0]!.content, "");
    assert.equal(only.messages.length, 2);
  });

  it("works for a developer message and for array content (the first text part)", () => {
    const dev = extractItsCode([{ role: "developer", content: "ITS_NONE_PS_16_2 Be brief." }]);
    assert.deepEqual(dev.its, { method: "power_sampling", block_size: 16, mcmc_steps: 2 });
    assert.deepEqual(dev.messages, [{ role: "developer", content: "Be brief." }]);
    const parts = extractItsCode([
      {
        role: "system",
        content: [
          { type: "text", text: "ITS_BO_4_1_NONE Part one." },
          { type: "text", text: "Part two." },
        ],
      },
    ]);
    assert.deepEqual(parts.its, { method: "best_of_n", n: 4, top_k: 1, metric: "logprobs" });
    assert.deepEqual(parts.messages[0]!.content, [
      { type: "text", text: "Part one." },
      { type: "text", text: "Part two." },
    ]);
    const emptied = extractItsCode([
      {
        role: "system",
        content: [
          { type: "text", text: "ITS_BO_4_1_NONE" },
          { type: "text", text: "Rest." },
        ],
      },
    ]);
    assert.deepEqual(emptied.messages[0]!.content, [{ type: "text", text: "Rest." }]);
  });

  it("does not mutate the messages it was given", () => {
    const messages = [system("ITS_NONE_NONE hello")];
    extractItsCode(messages);
    assert.equal(messages[0]!.content, "ITS_NONE_NONE hello");
  });

  it("reads a code only at the start of the first message, when that message is system or developer", () => {
    const later = [user("hi"), system("ITS_SMC_10_5_1_NONE rest")];
    assert.deepEqual(extractItsCode(later), { its: null, messages: later, found: false });
    const secondSystem = [system("Be nice."), system("ITS_SMC_10_5_1_NONE")];
    assert.deepEqual(extractItsCode(secondSystem), { its: null, messages: secondSystem, found: false });
    const userFirst = [user("ITS_SMC_10_5_1_NONE")];
    assert.deepEqual(extractItsCode(userFirst).its, null);
    assert.equal(extractItsCode(userFirst).messages[0]!.content, "ITS_SMC_10_5_1_NONE");
    const notFirstWord = [system("Use ITS_SMC_10_5_1_NONE please")];
    assert.deepEqual(extractItsCode(notFirstWord), { its: null, messages: notFirstWord, found: false });
  });

  it("leaves words that merely start with ITS alone", () => {
    for (const content of ["ITSELF is a word.", "ITS fine.", "ITS", "its_smc_10_5_1_NONE lower case", ""]) {
      const messages = [system(content)];
      assert.deepEqual(extractItsCode(messages), { its: null, messages, found: false }, content);
    }
  });

  const malformed = [
    "ITS_SMC_10_5",
    "ITS_FOO_NONE",
    "ITS_SMC_a_5_1_NONE",
    "ITS_NONE_PS_0_8",
    "ITS_NONE_PS_192_2000",
    "ITS_SMC_100_5_1_NONE",
    "ITS_SMC_10_5_2_NONE",
    "ITS_BO_2_3_NONE",
    "ITS_BO_0_0_NONE",
    "ITS_NONE_NONE_X",
    "ITS_NONE_PS_192",
    "ITS_NONE_PS_-1_8",
    "ITS_NONE_BAR",
    "ITS_NONE",
    "ITS_",
    "ITS_SMC_10_5_1_PS_192_8_",
  ];
  for (const code of malformed) {
    it(`rejects ${code} with the grammar in the message`, () => {
      const e = expect400(() => extractItsCode([system(`${code} You are helpful.`)]), {
        param: "messages[0].content",
        code: "invalid_value",
      });
      assert.ok(e.message.includes(ITS_CODE_GRAMMAR), e.message);
      assert.ok(e.message.includes(`'${code}'`), e.message);
    });
  }

  it("rejects a request with both an its object and a code", () => {
    const req = parseChatCompletionRequest({
      model: "m",
      messages: [system("ITS_NONE_PS_192_8 Hi."), user("hi")],
      its: { method: "smc" },
    });
    const e = expect400(() => resolveChatIts(req), { param: "its" });
    assert.match(e.message, /use one/);
    // ITS_NONE_NONE is a code too.
    expect400(() => resolveChatIts({ messages: [system("ITS_NONE_NONE")], its: parseIts({ method: "smc" }) }), {
      param: "its",
    });
  });

  it("resolves a request's its from the object or the code", () => {
    const byCode = resolveChatIts(
      parseChatCompletionRequest({ model: "m", messages: [system("ITS_BO_8_2_NONE Hi."), user("hi")] }),
    );
    assert.deepEqual(byCode.its, { method: "best_of_n", n: 8, top_k: 2, metric: "logprobs" });
    assert.deepEqual(byCode.messages, [system("Hi."), user("hi")]);
    const byObject = resolveChatIts(
      parseChatCompletionRequest({ model: "m", messages: [system("Hi."), user("hi")], its: { method: "smc" } }),
    );
    assert.equal(byObject.its?.method, "smc");
    assert.deepEqual(byObject.messages, [system("Hi."), user("hi")]);
    const neither = resolveChatIts(parseChatCompletionRequest(chatBase));
    assert.equal(neither.its, null);
  });
});

describe("its diagnostics on responses", () => {
  const diagnostics: ItsDiagnostics = {
    method: "smc",
    tokensEvaluated: 120,
    promptTokensEvaluated: 40,
    tokensSampled: 80,
    wallTimeMs: 12.5,
    powerSampling: { chains: [[{ length: 4, proposals: 2, accepted: 1, skipped: 0 }]], acceptanceRate: 0.5 },
    smc: {
      steps: 3,
      resampling: [{ step: 1, ess: 1.5, ancestors: [0, 0] }],
      finalWeights: [0.25, 0.75],
      finalScores: [-1, -0.5],
    },
    bestOfN: { scores: [-0.5, -1], chosen: [0] },
  };
  const wire = {
    method: "smc",
    tokens_evaluated: 120,
    prompt_tokens_evaluated: 40,
    tokens_sampled: 80,
    wall_time_ms: 12.5,
    power_sampling: { acceptance_rate: 0.5, chains: [[{ length: 4, proposals: 2, accepted: 1, skipped: 0 }]] },
    smc: {
      steps: 3,
      resampling: [{ step: 1, ess: 1.5, ancestors: [0, 0] }],
      final_weights: [0.25, 0.75],
      final_scores: [-1, -0.5],
    },
    best_of_n: { scores: [-0.5, -1], chosen: [0] },
  };

  it("maps the engine's diagnostics to snake_case, leaving absent sections out", () => {
    assert.deepEqual(wireItsDiagnostics(diagnostics), wire);
    assert.deepEqual(
      wireItsDiagnostics({
        method: "power_sampling",
        tokensEvaluated: 1,
        promptTokensEvaluated: 1,
        tokensSampled: 2,
        wallTimeMs: 3,
      }),
      {
        method: "power_sampling",
        tokens_evaluated: 1,
        prompt_tokens_evaluated: 1,
        tokens_sampled: 2,
        wall_time_ms: 3,
      },
    );
  });

  it("puts its on full responses only when given", () => {
    const usage = { promptTokens: 1, completionTokens: 1 };
    const chat = buildChatCompletion({
      model: "m",
      choices: [{ content: "x", finishReason: "stop" }],
      usage,
      its: wire,
    });
    assert.deepEqual(chat.its, wire);
    assert.equal("its" in buildChatCompletion({ model: "m", choices: [], usage }), false);
    const legacy = buildCompletion({ model: "m", choices: [{ text: "x", finishReason: "stop" }], usage, its: wire });
    assert.deepEqual(legacy.its, wire);
    assert.equal("its" in buildCompletion({ model: "m", choices: [], usage }), false);
  });

  it("puts its on the final stream chunk when given", () => {
    const usage = { promptTokens: 1, completionTokens: 1 };
    const chat = new ChatStreamBuilder({ model: "m", includeUsage: true });
    assert.equal("its" in chat.contentChunk(0, "x"), false);
    assert.equal("its" in chat.finishChunk(0, "stop"), false);
    assert.deepEqual(chat.finishChunk(0, "stop", wire).its, wire);
    assert.deepEqual(chat.usageChunk(usage, wire)?.its, wire);
    assert.equal("its" in chat.usageChunk(usage)!, false);
    const legacy = new CompletionStreamBuilder({ model: "m", includeUsage: false });
    assert.equal("its" in legacy.finishChunk(0, "length"), false);
    assert.deepEqual(legacy.finishChunk(0, "length", wire).its, wire);
    assert.equal(legacy.usageChunk(usage, wire), null);
    const legacyUsage = new CompletionStreamBuilder({ model: "m", includeUsage: true });
    assert.deepEqual(legacyUsage.usageChunk(usage, wire)?.its, wire);
  });
});
