// Memory choices at load (issue 12): when weights are read instead of mapped, and the release of
// the model node-llama-cpp keeps after simulating an estimate, pinned against the real internals on
// the tiny model so a node-llama-cpp upgrade that moves them fails here rather than silently.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GgufInsights, getLlama, type Llama, LlamaLogLevel, readGgufFileInfo } from "node-llama-cpp";
import { estimateMemory, mmapWeights, releaseSimulatedModel } from "../../../src/engine/llama/memory-estimate.js";
import { ensureBuiltinModel } from "../../../src/models/builtin.js";

const AMX =
  "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 | ";
const NO_AMX = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | LLAMAFILE = 1 | REPACK = 1 | ";

describe("mmapWeights", () => {
  it("reads the weights when a CPU backend with AMX runs them (it copies them into AMX buffers)", () => {
    assert.equal(mmapWeights(AMX, false, 0), false);
    assert.equal(mmapWeights(AMX, false, "auto"), false);
    assert.equal(mmapWeights(AMX, "cuda", 0), false, "no layer offloaded: the CPU holds them all");
  });

  it("keeps node-llama-cpp's default otherwise", () => {
    assert.equal(mmapWeights(NO_AMX, false, 0), "auto");
    assert.equal(mmapWeights(AMX, "cuda", "auto"), "auto");
    assert.equal(mmapWeights(AMX, "vulkan", 12), "auto");
    assert.equal(mmapWeights(AMX.replace("AMX_INT8 = 1", "AMX_INT8 = 0"), false, 0), "auto");
  });
});

interface Session {
  disposed: boolean;
  /** node-llama-cpp's LruCache of simulated models. */
  _modelHandlePromises: { keys(): IterableIterator<unknown> };
}
const sessionOf = (insights: unknown): Session => (insights as { _simulationSession: Session })._simulationSession;
const simulated = (session: Session): number => [...session._modelHandlePromises.keys()].length;

describe("releaseSimulatedModel", () => {
  let llama: Llama;
  before(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  });
  after(async () => {
    await llama?.dispose();
  });

  it("frees the model an estimate simulated and leaves an empty session that still works", async () => {
    const insights = await GgufInsights.from(await readGgufFileInfo(await ensureBuiltinModel("tiny")), llama);
    await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0 });
    const kept = sessionOf(insights);
    assert.ok(simulated(kept) > 0, "node-llama-cpp keeps the simulated model (what this frees)");
    await releaseSimulatedModel(insights);
    assert.equal(kept.disposed, true);
    const fresh = sessionOf(insights);
    assert.notEqual(fresh, kept);
    assert.equal(simulated(fresh), 0);
    // A later estimate simulates again, on the new session.
    const context = await insights.estimateContextResourceRequirementsV2({
      contextSize: 128,
      sequences: 1,
      batchSize: 32,
      modelGpuLayers: 0,
    });
    assert.ok(context.cpuRam > 0);
    assert.ok(simulated(fresh) > 0);
    await releaseSimulatedModel(insights);
  });

  it("estimateMemory gives the same figures twice and keeps no simulated model", async () => {
    const path = await ensureBuiltinModel("tiny");
    const shape = { contextSize: 256, sequences: 2, batchSize: 64, gpuLayers: 0 };
    const first = await estimateMemory(llama, path, shape);
    assert.ok(first.ram > 0);
    assert.deepEqual(await estimateMemory(llama, path, shape), first);
  });

  it("does nothing without node-llama-cpp's internals, and swallows a failing dispose", async () => {
    await releaseSimulatedModel({} as never);
    const failing = { dispose: () => Promise.reject(new Error("busy")) };
    const insights = { _simulationSession: failing, _createSimulatorSession: () => ({ dispose: async () => {} }) };
    await releaseSimulatedModel(insights as never);
    assert.notEqual(insights._simulationSession, failing);
  });
});
