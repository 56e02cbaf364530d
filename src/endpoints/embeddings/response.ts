// POST /v1/embeddings response body.

export type EncodingFormat = "float" | "base64";

export interface EmbeddingObject {
  object: "embedding";
  index: number;
  embedding: number[] | string;
}

export interface EmbeddingList {
  object: "list";
  data: EmbeddingObject[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface EmbeddingListInput {
  model: string;
  vectors: readonly Float32Array[];
  promptTokens: number;
  format: EncodingFormat;
}

export function buildEmbeddingList(input: EmbeddingListInput): EmbeddingList {
  return {
    object: "list",
    data: input.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: input.format === "base64" ? float32Base64(vector) : Array.from(vector),
    })),
    model: input.model,
    usage: { prompt_tokens: input.promptTokens, total_tokens: input.promptTokens },
  };
}

/**
 * OpenAI's base64 form: the float32 values' little-endian bytes. Written explicitly little-endian
 * so that the bytes do not depend on the host.
 */
export function float32Base64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString("base64");
}
