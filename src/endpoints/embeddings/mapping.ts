// POST /v1/embeddings, wire → engine: the inputs and dimensions in the engine's terms, and the
// engine's refusals in OpenAI's wording (the context and the per-request token limit are
// OpenAI's own errors for this endpoint, with their own type and code).
import type { EngineError, EngineField } from "../../engine/errors.js";
import type { EmbeddingInput } from "../../engine/types.js";
import type { EngineErrorNames } from "../shared/engine-errors.js";
import { ApiError } from "../shared/errors.js";
import type { EmbeddingRequest, EmbeddingRequestInput } from "./schema.js";

export function embeddingInput(body: EmbeddingRequest): EmbeddingInput {
  return { inputs: embeddingInputItems(body.input), dimensions: body.dimensions ?? undefined };
}

export type EmbeddingInputItem = { kind: "text"; text: string } | { kind: "tokens"; tokens: number[] };

/** The request's inputs, one item per embedding to return, in order. */
export function embeddingInputItems(input: EmbeddingRequestInput): EmbeddingInputItem[] {
  if (typeof input === "string") return [{ kind: "text", text: input }];
  const items: EmbeddingInputItem[] = [];
  const tokens: number[] = [];
  for (const item of input) {
    if (typeof item === "string") items.push({ kind: "text", text: item });
    else if (typeof item === "number") tokens.push(item);
    else items.push({ kind: "tokens", tokens: item });
  }
  // A flat array of ids is one input; the schema never mixes ids with strings or arrays.
  if (tokens.length > 0) items.push({ kind: "tokens", tokens });
  return items;
}

export const EMBEDDING_ERROR_NAMES: EngineErrorNames = {
  param(field: EngineField): string | null {
    if (field === "inputs") return "input";
    if (field === "dimensions") return "dimensions";
    if (field === "model") return "model";
    return null;
  },
  refusal(error: EngineError, param: string | null): ApiError | undefined {
    const detail = error.detail;
    // OpenAI's answer, type and code as it sends them (the SDKs raise BadRequestError).
    if (detail?.reason === "tokens_per_request")
      return new ApiError(
        400,
        `Requested ${detail.complete ? "" : "at least "}${detail.total} tokens, max ${detail.max} tokens per request`,
        {
          type: "max_tokens_per_request",
          param: null,
          code: "max_tokens_per_request",
        },
      );
    if (detail?.reason === "context_exceeded")
      return new ApiError(
        400,
        `This model's maximum context length for embeddings is ${detail.contextSize} tokens. However, input ${detail.input ?? 0} resulted in ` +
          `${detail.promptTokens} tokens. Please reduce the length of the input.`,
        { type: "invalid_request_error", param: param ?? "input", code: "context_length_exceeded" },
      );
    return undefined;
  },
};
