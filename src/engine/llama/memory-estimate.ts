// Will a model fit? node-llama-cpp's GGUF insights estimate the memory of the weights and of a
// context (KV cache for every sequence, compute buffers) from the file's header alone, so a model
// that cannot fit is refused with numbers before llama.cpp tries and the machine starts swapping.
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { GgufInsights, readGgufFileInfo, type Llama, type LlamaGpuType } from "node-llama-cpp";
import { EngineError } from "../errors.js";

/**
 * Whether to memory-map a model's weights (node-llama-cpp's `useMmap`): its default ("auto": mapped
 * where supported) unless the weights run on a CPU backend built with AMX (the prebuilt
 * `sapphirerapids` variant, picked on CPUs that have AMX). That backend copies every weight a
 * matrix product reads (most of a quantized or F16 model, and the output matrix again when it is
 * tied to the token embeddings) into its own AMX buffer at load; the mapped file pages those copies
 * were read from stay mapped, so they stay resident and count in RSS a second time: 0.5B Q8_0,
 * 559 MiB AMX buffer plus 487 MiB of mapped weights. Read into memory instead, only the weights the
 * AMX buffer does not hold (the embedding table, norms) are kept once more. Same weights, same
 * kernels: outputs and decoding do not change. Without AMX, or with layers on a GPU, mmap stays.
 */
export function mmapWeights(systemInfo: string, gpu: LlamaGpuType, gpuLayers: number | "auto"): "auto" | false {
  const onCpu = gpu === false || gpuLayers === 0;
  return onCpu && /\bAMX_INT8 = 1\b/.test(systemInfo) ? false : "auto";
}

export interface ContextShape {
  contextSize: number;
  sequences: number;
  batchSize: number;
  /** Layers offloaded to the GPU (0 on CPU). */
  gpuLayers: number;
}

export interface MemoryEstimate {
  /** Bytes of RAM (weights not offloaded, KV cache and buffers kept on the CPU). */
  ram: number;
  /** Bytes of GPU memory. */
  vram: number;
}

export async function estimateMemory(llama: Llama, path: string, shape: ContextShape): Promise<MemoryEstimate> {
  const insights = await GgufInsights.from(await readGgufFileInfo(path), llama);
  try {
    const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers: shape.gpuLayers });
    const context = await insights.estimateContextResourceRequirementsV2({
      contextSize: shape.contextSize,
      sequences: shape.sequences,
      batchSize: shape.batchSize,
      modelGpuLayers: shape.gpuLayers,
    });
    return { ram: model.cpuRam + context.cpuRam, vram: model.gpuVram + context.gpuVram };
  } finally {
    await releaseSimulatedModel(insights);
  }
}

/** node-llama-cpp's GgufInsightsSimulatorSession (not exported). */
interface SimulatorSession {
  dispose(): Promise<void>;
}
interface InsightsInternals {
  _simulationSession?: SimulatorSession;
  _createSimulatorSession?: () => SimulatorSession;
}

/**
 * Frees the model that node-llama-cpp loaded to simulate a model's and a context's memory.
 * GgufInsights measures by loading the GGUF without allocating weights (vocabulary, tensor
 * metadata, a context's graph) and keeps that model in a session it never disposes, for as long as
 * anything holds the insights (whose native memory the garbage collector does not see). Freeing it
 * right after the estimate took lavash serve's RSS on `tiny` from 431 to 396 MiB. The session is
 * swapped for an empty one, so a later estimate still works; a node-llama-cpp without these
 * internals is left alone.
 */
export async function releaseSimulatedModel(insights: GgufInsights): Promise<void> {
  const internals = insights as unknown as InsightsInternals;
  const session = internals._simulationSession;
  if (session === undefined || typeof internals._createSimulatorSession !== "function") return;
  internals._simulationSession = internals._createSimulatorSession.call(insights);
  // Only memory is at stake: a failure to free it must not fail the load.
  await session.dispose().catch(() => undefined);
}

const GiB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GiB).toFixed(2)} GiB`;

/**
 * Throws EngineError("invalid_request") when the estimate exceeds what is free. Weights are
 * memory-mapped, so RAM is compared with free memory plus the page cache the kernel can drop.
 */
export async function checkFits(
  llama: Llama,
  id: string,
  estimate: MemoryEstimate,
  shape: ContextShape,
): Promise<void> {
  const freeRam = freemem() + reclaimableCache();
  const advice = `lower ctx_size (${shape.contextSize}) or parallel (${shape.sequences}), or pick a smaller quantization`;
  if (estimate.ram > freeRam)
    throw new EngineError(
      "invalid_request",
      `Model '${id}' needs about ${gib(estimate.ram)} of RAM but ${gib(freeRam)} is free: ${advice}.`,
      "model",
    );
  if (estimate.vram > 0) {
    const vram = await llama.getVramState();
    if (vram.total > 0 && estimate.vram > vram.free)
      throw new EngineError(
        "invalid_request",
        `Model '${id}' needs about ${gib(estimate.vram)} of GPU memory but ${gib(vram.free)} is free: ${advice}, or offload fewer layers.`,
        "model",
      );
  }
}

/** Linux page cache that can be dropped (MemAvailable − MemFree); 0 elsewhere. */
function reclaimableCache(): number {
  try {
    // Read synchronously: a few hundred bytes from procfs.
    const info = readFileSync("/proc/meminfo", "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? 0) * 1024;
    return Math.max(0, kb("MemAvailable") - kb("MemFree"));
  } catch {
    return 0;
  }
}
