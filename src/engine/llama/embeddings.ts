// Embeddings for one model: a node-llama-cpp embedding context of its own (a separate llama.cpp
// context with embeddings on, one sequence), created on the first request so that servers which
// never embed pay nothing for it.
//
// Pooling is the model's: lavash does not set one, so llama.cpp uses the GGUF's
// `<arch>.pooling_type`. Embedding models declare mean, CLS or last-token pooling; a plain
// language model (the built-in `tiny`) declares none, and its embedding is the final hidden state
// of the last input token (after the output norm). Vectors are L2-normalized, as OpenAI's are, so
// a dot product is the cosine similarity.
import type { LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { EmbeddingInput, EmbeddingResult } from "../types.js";
import {
  addSpecialTokens,
  checkPromptBytes,
  firstInvalidTokenId,
  utf8Bytes,
  vocabularyRange,
} from "./tokenizer-ops.js";

export interface EmbeddingContextOptions {
  /** Positions per input, at most; capped at the model's training context. */
  contextSize: number;
  /** Tokens per decode for models without pooling (see `batchSizeFor`). */
  batchSize: number;
  threads: number;
  /** The model's longestTokenBytes: inputs that cannot fit are refused before tokenizing (absent: not checked). */
  longestTokenBytes?: number | null;
}

/**
 * Tokens one request may embed, all inputs together: OpenAI's limit. Without it, 2,048 inputs of
 * a full context each would hold the embedding context for minutes.
 */
export const MAX_EMBEDDING_TOKENS_PER_REQUEST = 300_000;

// llama.cpp's enum llama_pooling_type, as GGUF files store it.
const POOLING_NONE = 0;
const POOLING_RANK = 4;

export class ModelEmbeddings {
  private context: Promise<LlamaEmbeddingContext> | null = null;
  /** node-llama-cpp's embedding context evaluates one input at a time: calls queue here. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private readonly contextSize: number;
  private vectorSize: number;

  constructor(
    private readonly modelId: string,
    private readonly model: LlamaModel,
    private readonly vocabularySize: number,
    private readonly options: EmbeddingContextOptions,
  ) {
    const trained = model.trainContextSize;
    // Positions past the training context are garbage for RoPE models and out of range for the
    // learned position tables of BERT-style embedding models.
    this.contextSize = trained > 0 ? Math.min(options.contextSize, trained) : options.contextSize;
    this.vectorSize = model.embeddingVectorSize;
  }

  async embed(input: EmbeddingInput): Promise<EmbeddingResult> {
    const reason = cannotEmbedReason(this.model);
    if (reason !== null)
      throw new EngineError(
        "unsupported",
        `The model \`${this.modelId}\` cannot compute embeddings: ${reason}.`,
        "model",
      );
    if (input.dimensions !== undefined && input.dimensions !== this.vectorSize)
      throw new EngineError(
        "unsupported",
        `model '${this.modelId}' produces ${this.vectorSize}-dimensional embeddings only`,
        "dimensions",
        {
          reason: "fixed_dimensions",
          model: this.modelId,
          dimensions: this.vectorSize,
          requested: input.dimensions,
        },
      );

    // Everything is checked before anything is evaluated: a bad last input fails the request fast.
    let total = 0;
    const prepared = input.inputs.map((item, index) => {
      let tokens: Token[];
      if (item.kind === "tokens") {
        const bad = firstInvalidTokenId(item.tokens, this.vocabularySize);
        if (bad >= 0)
          throw new EngineError(
            "token_out_of_vocabulary",
            `token id ${item.tokens[bad]} (position ${bad} of input ${index}): ${vocabularyRange(this.vocabularySize)}`,
            "inputs",
            {
              reason: "token_out_of_vocabulary",
              token: item.tokens[bad]!,
              vocabularySize: this.vocabularySize,
              position: bad,
              input: index,
            },
          );
        tokens = item.tokens as Token[];
      } else {
        const bound = {
          contextSize: this.contextSize,
          longestTokenBytes: this.options.longestTokenBytes ?? null,
          field: "inputs" as const,
          input: index,
        };
        checkPromptBytes(utf8Bytes([item.text]), bound);
        tokens = this.model.tokenize(item.text, false);
      }
      if (tokens.length === 0) throw new EngineError("invalid_request", `Input ${index} is empty.`, "inputs");
      const withSpecial = addSpecialTokens(this.model, tokens, "if_missing");
      // node-llama-cpp's embedding context needs one free position beyond the input.
      if (withSpecial.length >= this.contextSize)
        throw new EngineError(
          "context_length_exceeded",
          `input ${index} is ${withSpecial.length} tokens, the embedding context ${this.contextSize}`,
          "inputs",
          {
            reason: "context_exceeded",
            contextSize: this.contextSize,
            promptTokens: withSpecial.length,
            input: index,
          },
        );
      total += withSpecial.length;
      // Counting stops at the input that passes the limit: the rest is not tokenized for nothing.
      if (total > MAX_EMBEDDING_TOKENS_PER_REQUEST)
        throw new EngineError(
          "tokens_per_request_exceeded",
          `${total} tokens in one request, more than ${MAX_EMBEDDING_TOKENS_PER_REQUEST}`,
          "inputs",
          {
            reason: "tokens_per_request",
            total,
            max: MAX_EMBEDDING_TOKENS_PER_REQUEST,
            complete: index === input.inputs.length - 1,
          },
        );
      return withSpecial;
    });

    return this.serialized(async () => {
      const context = await this.ensureContext();
      const vectors: Float32Array[] = [];
      for (const tokens of prepared) {
        let vector: readonly number[];
        try {
          vector = (await context.getEmbeddingFor(tokens)).vector;
        } catch (error) {
          throw embeddingFailure(this.modelId, error);
        }
        if (vector.length === 0)
          throw new EngineError(
            "unsupported",
            `The model \`${this.modelId}\` cannot compute embeddings: llama.cpp returned none.`,
            "model",
          );
        this.vectorSize = vector.length;
        vectors.push(normalize(vector));
      }
      return { vectors, promptTokens: prepared.reduce((n, t) => n + t.length, 0) };
    });
  }

  /** Whether a request is being embedded or waits its turn (keep-alive leaves the model loaded). */
  get busy(): boolean {
    return this.pending > 0;
  }

  async dispose(): Promise<void> {
    await this.tail;
    const context = this.context;
    this.context = null;
    if (context) await (await context.catch(() => null))?.dispose();
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task).finally(() => this.pending--);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private ensureContext(): Promise<LlamaEmbeddingContext> {
    if (this.context) return this.context;
    const created = this.model
      .createEmbeddingContext({
        contextSize: this.contextSize,
        batchSize: batchSizeFor(this.model, this.options.batchSize, this.contextSize),
        threads: this.options.threads,
      })
      .catch((error: unknown) => {
        // Not remembered: a failure for lack of memory may pass.
        this.context = null;
        throw new EngineError(
          "unsupported",
          `The model \`${this.modelId}\` cannot compute embeddings: creating its embedding context failed (${(error as Error).message}).`,
          "model",
        );
      });
    this.context = created;
    return created;
  }
}

/** Why llama.cpp could not give this model's embeddings, or null when it can. */
function cannotEmbedReason(model: LlamaModel): string | null {
  if (model.fileInsights.hasEncoder && model.fileInsights.hasDecoder) return "it is an encoder-decoder model";
  // A reranker's pooled output is a relevance score, not an embedding.
  if (architectureMetadata(model).poolingType === POOLING_RANK) return "it is a reranking model (pooling type rank)";
  return null;
}

/**
 * A pooled model (mean, CLS, last) pools over one decode, and a non-causal one attends within
 * one: the whole input must fit one batch, or the vector would describe the last chunk only.
 * Without pooling the embedding is the last token's, which chunked decodes give exactly, so those
 * models keep the server's batch size: with embeddings on, llama.cpp computes the output layer
 * for every token of a batch (the whole vocabulary's logits for a language model), and memory
 * grows with the batch.
 */
function batchSizeFor(model: LlamaModel, batchSize: number, contextSize: number): number {
  const { poolingType, causal } = architectureMetadata(model);
  const pooled = poolingType !== undefined && poolingType !== POOLING_NONE;
  return pooled || causal === false ? contextSize : Math.min(batchSize, contextSize);
}

function architectureMetadata(model: LlamaModel): { poolingType?: number; causal?: boolean } {
  const metadata = model.fileInfo.metadata as unknown as Record<string, unknown>;
  const arch = metadata[model.fileInfo.metadata.general.architecture];
  if (arch === null || typeof arch !== "object") return {};
  const { pooling_type: poolingType, attention } = arch as { pooling_type?: unknown; attention?: unknown };
  const causal =
    attention !== null && typeof attention === "object" ? (attention as { causal?: unknown }).causal : undefined;
  return {
    poolingType: typeof poolingType === "number" ? poolingType : undefined,
    causal: typeof causal === "boolean" ? causal : undefined,
  };
}

function embeddingFailure(modelId: string, error: unknown): EngineError {
  const message = error instanceof Error ? error.message : String(error);
  // The addon's own words when the context holds no embedding for the input.
  if (/embedding/i.test(message))
    return new EngineError("unsupported", `The model \`${modelId}\` cannot compute embeddings: ${message}`, "model");
  return new EngineError("internal", `Computing the embedding failed: ${message}`);
}

function normalize(vector: readonly number[]): Float32Array {
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(vector.length);
  // A zero (or non-finite) vector has no direction to keep; it is returned as computed.
  const scale = norm > 0 && Number.isFinite(norm) ? 1 / norm : 1;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i]! * scale;
  return out;
}
