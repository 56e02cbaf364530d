// The client's request and response types, taken from the server's own definitions so that the
// two cannot drift apart: requests are the zod schemas' input types (what the server accepts,
// extensions included), responses the interfaces the server builds its bodies from. Type-only
// imports: nothing of the server (or zod) is loaded at run time.
import type { z } from "zod";
import type { chatCompletionRequestSchema } from "../endpoints/chat-completions/schema.js";
import type {
  ChatChunkChoice,
  ChatCompletionChunk as WireChatCompletionChunk,
  ChatCompletion,
  ChatDelta,
} from "../endpoints/chat-completions/response.js";
import type { CompletionRequest, completionRequestSchema } from "../endpoints/completions/schema.js";
import type { EmbeddingObject, EmbeddingList } from "../endpoints/embeddings/response.js";
import type { EmbeddingRequest } from "../endpoints/embeddings/schema.js";
import type {
  detokenizeRequestSchema,
  tokenizeChatRequestSchema,
  tokenizeCompletionRequestSchema,
} from "../endpoints/tokenize/schema.js";

export type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionMessage,
  ChatFinishReason,
  ToolCallDelta,
  WireToolCall as ChatCompletionMessageToolCall,
} from "../endpoints/chat-completions/response.js";
export type { Completion, CompletionChoice, CompletionFinishReason } from "../endpoints/completions/response.js";
export type { EmbeddingList, EmbeddingObject, EncodingFormat } from "../endpoints/embeddings/response.js";
export type { ModelList, ModelObject } from "../endpoints/models/response.js";
export type { DetokenizeResponse, TokenizeResponse } from "../endpoints/tokenize/response.js";
export type {
  ChatChoiceLogprobs,
  ChatTokenLogprob,
  ChatTopLogprob,
  LegacyLogprobs,
} from "../endpoints/shared/logprobs.js";
export type { WireUsage as CompletionUsage } from "../endpoints/shared/response-fields.js";

// ---- requests ----

/** POST /v1/chat/completions: OpenAI's parameters and lavash's extensions (top_k, min_p, ...). */
export type ChatCompletionCreateParams = z.input<typeof chatCompletionRequestSchema>;
export type ChatCompletionCreateParamsStreaming = ChatCompletionCreateParams & { stream: true };
export type ChatCompletionCreateParamsNonStreaming = ChatCompletionCreateParams & { stream?: false | null };
export type ChatCompletionMessageParam = ChatCompletionCreateParams["messages"][number];
export type ChatCompletionTool = NonNullable<ChatCompletionCreateParams["tools"]>[number];

/**
 * POST /v1/completions. `prompt` is restated from the parsed form: the schema checks its array
 * forms in two steps, so its input type only says "an array".
 */
export type CompletionCreateParams = Omit<z.input<typeof completionRequestSchema>, "prompt"> & {
  prompt: CompletionRequest["prompt"] | null;
};
export type CompletionCreateParamsStreaming = CompletionCreateParams & { stream: true };
export type CompletionCreateParamsNonStreaming = CompletionCreateParams & { stream?: false | null };

/** POST /v1/embeddings (the schema has no transforms: its parsed type is its input type). */
export type EmbeddingCreateParams = EmbeddingRequest;

/** POST /tokenize: a text prompt, or chat messages rendered with the model's template. */
export type TokenizeParams =
  | z.input<typeof tokenizeCompletionRequestSchema>
  | z.input<typeof tokenizeChatRequestSchema>;
/** POST /detokenize */
export type DetokenizeParams = z.input<typeof detokenizeRequestSchema>;

// ---- responses that the client shapes for reading ----

/** The server's deltas are a union of exact shapes; this is the same fields, each optional, to read without narrowing. */
export type ChatCompletionChunkDelta = MergeUnion<Exclude<ChatDelta, Record<string, never>>>;
export type ChatCompletionChunkChoice = Omit<ChatChunkChoice, "delta"> & { delta: ChatCompletionChunkDelta };
export type ChatCompletionChunk = Omit<WireChatCompletionChunk, "choices"> & { choices: ChatCompletionChunkChoice[] };

/** What finalCompletion() of a chat stream rebuilds; `usage` only when the request set stream_options.include_usage. */
export type StreamedChatCompletion = Omit<ChatCompletion, "usage"> & { usage?: ChatCompletion["usage"] };

/** An embedding list whose vectors have the type `encoding_format` asks for. */
export type EmbeddingResponse<E extends number[] | string> = Omit<EmbeddingList, "data"> & {
  data: (Omit<EmbeddingObject, "embedding"> & { embedding: E })[];
};

type KeysOfUnion<U> = U extends unknown ? keyof U : never;
type MergeUnion<U> = { [K in KeysOfUnion<U>]?: U extends Record<K, infer V> ? V : never };
