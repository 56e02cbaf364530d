// ModelEmbeddings' refusals of models that cannot embed (the HTTP behaviour of /v1/embeddings is
// in test/endpoints/embeddings/).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LlamaModel } from "node-llama-cpp";
import { EngineError } from "../../../src/engine/errors.js";
import { ModelEmbeddings } from "../../../src/engine/llama/embeddings.js";

// No small GGUF of these kinds is at hand, so the refusals are checked on stand-ins for the
// few LlamaModel members ModelEmbeddings reads.
describe("models that cannot embed", () => {
  function stubModel(overrides: Record<string, unknown>): LlamaModel {
    const model = {
      trainContextSize: 512,
      embeddingVectorSize: 8,
      fileInsights: { hasEncoder: false, hasDecoder: true },
      fileInfo: { metadata: { general: { architecture: "bert" }, bert: { pooling_type: 1 } } },
      vocabularyType: "bpe",
      tokens: { bos: null, eos: null, sep: null, shouldPrependBosToken: false, shouldAppendEosToken: false },
      tokenize: (text: string) => Array.from(text, (_, i) => i + 1),
      createEmbeddingContext: async () => {
        throw new Error("failed to create llama context");
      },
      ...overrides,
    };
    return model as unknown as LlamaModel;
  }
  const options = { contextSize: 256, batchSize: 64, threads: 1 };
  const input = { inputs: [{ kind: "text" as const, text: "hello" }] };

  async function expectUnsupported(model: LlamaModel, message: RegExp): Promise<void> {
    await assert.rejects(new ModelEmbeddings("stub", model, 100, options).embed(input), (error: unknown) => {
      assert.ok(error instanceof EngineError, String(error));
      assert.equal(error.kind, "unsupported");
      assert.equal(error.field, "model");
      assert.match(error.message, message);
      return true;
    });
  }

  it("refuses encoder-decoder models", async () => {
    await expectUnsupported(stubModel({ fileInsights: { hasEncoder: true, hasDecoder: true } }), /encoder-decoder/);
  });

  it("refuses rerankers (pooling type rank)", async () => {
    await expectUnsupported(
      stubModel({ fileInfo: { metadata: { general: { architecture: "bert" }, bert: { pooling_type: 4 } } } }),
      /reranking/,
    );
  });

  it("refuses a model whose embedding context cannot be created, saying why", async () => {
    await expectUnsupported(stubModel({}), /creating its embedding context failed \(failed to create llama context\)/);
  });
});
