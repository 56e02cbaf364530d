// The built-in tiny model loaded for its vocabulary only (no weights, no context): what the
// tokenizer and token-bytes tests need, in well under a second once the model is cached.
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { ensureBuiltinModel } from "../../src/models/builtin.js";

export async function loadTinyVocabulary(): Promise<{ llama: Llama; model: LlamaModel }> {
  // The shared default cache: generated once, reused by later runs and other test files.
  const path = await ensureBuiltinModel("tiny");
  const llama = await getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error });
  return { llama, model: await llama.loadModel({ modelPath: path, vocabOnly: true }) };
}
