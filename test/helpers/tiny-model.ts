// The built-in tiny model loaded once for a test file's engine-level tests (registers before/after).
import { after, before } from "node:test";
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel } from "node-llama-cpp";
import { ensureBuiltinModel } from "../../src/models/builtin.js";

export interface LoadedTinyModel {
  readonly llama: Llama;
  readonly model: LlamaModel;
  /** Resolves once both are loaded: for a file's own before hook (Node 20 may start root hooks together). */
  readonly loaded: Promise<void>;
}

/** Loads the tiny model before the file's tests and frees it after; read the fields inside tests. */
export function useTinyModel(): LoadedTinyModel {
  let done: () => void = () => {};
  const loaded = { loaded: new Promise<void>((resolve) => (done = resolve)) } as {
    llama: Llama;
    model: LlamaModel;
    loaded: Promise<void>;
  };
  before(async () => {
    loaded.llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    loaded.model = await loaded.llama.loadModel({ modelPath: await ensureBuiltinModel("tiny") });
    done();
  });
  after(async () => {
    await loaded.model?.dispose();
    await loaded.llama?.dispose();
  });
  return loaded;
}
