// Will a model fit? node-llama-cpp's GGUF insights estimate the memory of the weights and of a
// context (KV cache for every sequence, compute buffers) from the file's header alone, so a model
// that cannot fit is refused with numbers before llama.cpp tries and the machine starts swapping.
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { GgufInsights, readGgufFileInfo, type Llama } from "node-llama-cpp";
import { EngineError } from "../errors.js";

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
  const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers: shape.gpuLayers });
  const context = await insights.estimateContextResourceRequirementsV2({
    contextSize: shape.contextSize,
    sequences: shape.sequences,
    batchSize: shape.batchSize,
    modelGpuLayers: shape.gpuLayers,
  });
  return { ram: model.cpuRam + context.cpuRam, vram: model.gpuVram + context.gpuVram };
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
