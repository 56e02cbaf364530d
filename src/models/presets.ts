// Shapes of the built-in random-weight models. They exist so that the server, its tests and its
// benchmarks have real GGUF files to load on machines that cannot download models: the weights
// are noise, but the vocabulary, chat template and tensor shapes are real.
import { GgmlType } from "./gguf-writer.js";
import { QWEN_PADDED_VOCAB_SIZE } from "./qwen-vocab.js";

export interface ModelPreset {
  name: string;
  description: string;
  architecture: "qwen2";
  blockCount: number;
  embeddingLength: number;
  headCount: number;
  headCountKv: number;
  feedForwardLength: number;
  vocabSize: number;
  contextLength: number;
  /** Storage type of the weight matrices; norms and biases are always F32, as in real GGUFs. */
  weightType: GgmlType;
  ropeFreqBase: number;
  rmsNormEps: number;
  /** Standard deviation of the random weights. */
  initStd: number;
  seed: number;
}

const qwen2Defaults = {
  architecture: "qwen2",
  vocabSize: QWEN_PADDED_VOCAB_SIZE,
  ropeFreqBase: 1_000_000,
  rmsNormEps: 1e-6,
  initStd: 0.02,
  seed: 0x1a7a5, // arbitrary, fixed: changing it changes every file (bump GENERATOR_VERSION)
} as const;

export const PRESETS: Readonly<Record<string, ModelPreset>> = {
  tiny: {
    ...qwen2Defaults,
    name: "tiny",
    description: "qwen2, 4 layers, hidden 128, F16: fast tests (the 152k vocabulary dominates its size)",
    blockCount: 4,
    embeddingLength: 128,
    headCount: 2,
    headCountKv: 1,
    feedForwardLength: 512,
    contextLength: 4096,
    weightType: GgmlType.F16,
  },
  "qwen2.5-0.5b-shape": {
    ...qwen2Defaults,
    name: "qwen2.5-0.5b-shape",
    description: "the Qwen2.5-0.5B shape (24 layers, hidden 896, 494M params) in Q8_0: realistic speed and memory",
    blockCount: 24,
    embeddingLength: 896,
    headCount: 14,
    headCountKv: 2,
    feedForwardLength: 4864,
    contextLength: 32768,
    weightType: GgmlType.Q8_0,
  },
};

export function getPreset(name: string): ModelPreset {
  const preset = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) {
    throw new Error(`unknown model preset "${name}" (known: ${Object.keys(PRESETS).join(", ")})`);
  }
  return preset;
}

/** Parameter count, tied embeddings counted once. */
export function presetParameterCount(p: ModelPreset): number {
  const E = p.embeddingLength;
  const kv = (E / p.headCount) * p.headCountKv;
  const perBlock = 2 * E + E * E + 2 * E * kv + E * E + 3 * E * p.feedForwardLength + E + 2 * kv;
  return p.vocabSize * E + E + p.blockCount * perBlock;
}
