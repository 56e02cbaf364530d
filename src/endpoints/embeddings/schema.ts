// POST /v1/embeddings request, as OpenAI defines it: `input` is a string, an array of strings, an
// array of token ids, or an array of token-id arrays; none of them may be empty, and at most
// 2048 inputs go in one request.
import { z } from "zod";
import { parseWith } from "../shared/validation.js";

export const MAX_EMBEDDING_INPUTS = 2048;

const text = z.string().min(1);
const tokenArray = z.array(z.int().min(0)).min(1);
const texts = z.array(text).min(1).max(MAX_EMBEDDING_INPUTS);
const tokenArrays = z.array(tokenArray).min(1).max(MAX_EMBEDDING_INPUTS);

function requestSchema<I extends z.ZodType>(input: I) {
  return z.strictObject({
    model: z.string(),
    input,
    // The openai SDKs ask for base64 unless told otherwise, and decode it themselves.
    encoding_format: z.enum(["float", "base64"]).nullish(),
    dimensions: z.int().min(1).nullish(),
    user: z.string().nullish(),
  });
}

/** Every input form in one schema (parsing picks the form from the first element: schemaFor). */
export const embeddingRequestSchema = requestSchema(z.union([text, texts, tokenArray, tokenArrays]));
export type EmbeddingRequest = z.output<typeof embeddingRequestSchema>;
export type EmbeddingRequestInput = EmbeddingRequest["input"];

// A union reports a mistake inside an array against whichever branch zod tried first ("expected
// a string" for a bad token id). The first element says which form the client meant, so an
// array is checked against that form alone.
const requestSchemaFor = {
  texts: requestSchema(texts),
  tokenArray: requestSchema(tokenArray),
  tokenArrays: requestSchema(tokenArrays),
};

function schemaFor(body: unknown): z.ZodType<EmbeddingRequest> {
  const input = body !== null && typeof body === "object" ? (body as { input?: unknown }).input : undefined;
  if (!Array.isArray(input) || input.length === 0) return embeddingRequestSchema;
  const first: unknown = input[0];
  if (typeof first === "number") return requestSchemaFor.tokenArray;
  if (Array.isArray(first)) return requestSchemaFor.tokenArrays;
  return requestSchemaFor.texts;
}

export function parseEmbeddingRequest(body: unknown): EmbeddingRequest {
  return parseWith(schemaFor(body), body);
}
