// What the OpenAPI document says about each route, keyed as the router registers it: method and
// Fastify URL pattern. A route the app registers that is missing here is left out of the
// document (and fails the openapi test): add its row when adding a route.
import type { JsonSchema, SchemaName } from "./schemas.js";

/** The statuses with an entry in components/responses (see ERROR_RESPONSES in document.ts). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 501 | 503 | 504;

export type Tag = "OpenAI" | "vLLM" | "Admin" | "Operations";

export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  /** key: the API key when the server has any (--api-key); optional-key: only with --protect-*; admin: --admin-key. */
  auth: "key" | "optional-key" | "admin";
  /** The name and meaning of a trailing `*` in the URL, an OpenAPI path parameter. */
  wildcard?: { name: string; description: string };
  /** The JSON request body; several: one of them (oneOf). */
  body?: SchemaName | readonly SchemaName[];
  ok: {
    description: string;
    /** application/json body: a named schema, or one written out. */
    json?: SchemaName | JsonSchema;
    /** A non-JSON body: its media type, as plain text. */
    text?: string;
    /** With `stream: true`: server-sent events whose `data` lines hold this schema, then `[DONE]`. */
    events?: SchemaName;
  };
  /** Beyond those every route can answer (401, 500, 503). */
  errors: readonly ErrorStatus[];
}

/** A JSON body: it can be invalid (400) or too large (413). */
const BODY_ERRORS = [400, 413] as const;
/** Generation: the model may be unknown, the queue full, the --request-timeout passed. */
const GENERATION_ERRORS = [...BODY_ERRORS, 404, 429, 504] as const;
/** vLLM's tokenizer routes: a JSON body, and a model that may not exist. */
const VLLM = { tag: "vLLM", auth: "key", errors: [...BODY_ERRORS, 404] } as const;
/** The admin routes: off without --admin-key (403), and engines that cannot load models answer 501. */
const ADMIN = { tag: "Admin", auth: "admin", errors: [...BODY_ERRORS, 403, 404, 501] } as const;

/** The Responses API's response object, in outline (OpenAI's Response: see docs/responses.md). */
const RESPONSE_OBJECT = {
  type: "object",
  required: ["id", "object", "created_at", "status", "model", "output"],
  properties: {
    id: { type: "string" },
    object: { const: "response" },
    created_at: { type: "integer" },
    status: { enum: ["completed", "incomplete", "in_progress", "failed"] },
    model: { type: "string" },
    output: { type: "array", items: { type: "object", required: ["type", "id"] } },
  },
} as const;

export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  "POST /v1/chat/completions": {
    operationId: "createChatCompletion",
    summary: "Chat completion",
    description:
      "OpenAI's chat completions. The messages are rendered with the model's own chat template. With `stream: true` the " +
      "answer is a stream of server-sent events. Cross-field rules (e.g. `stream_options` needs `stream`, `top_logprobs` " +
      "needs `logprobs`) and parameters lavash cannot honour yet are refused with a 400 naming the parameter.",
    tag: "OpenAI",
    auth: "key",
    body: "ChatCompletionRequest",
    ok: {
      description: "A chat.completion, or with `stream: true` chat.completion.chunk events.",
      json: "ChatCompletion",
      events: "ChatCompletionChunk",
    },
    errors: GENERATION_ERRORS,
  },
  "POST /v1/completions": {
    operationId: "createCompletion",
    summary: "Completion (legacy)",
    description: "OpenAI's legacy completions; `prompt` as a string, strings, token ids or lists of token ids.",
    tag: "OpenAI",
    auth: "key",
    body: "CompletionRequest",
    ok: {
      description: "A text_completion, or with `stream: true` text_completion chunk events.",
      json: "Completion",
      events: "CompletionChunk",
    },
    errors: GENERATION_ERRORS,
  },
  "POST /v1/responses": {
    operationId: "createResponse",
    summary: "Create a response (Responses API)",
    description:
      "OpenAI's Responses API over the same models as chat completions: `input` as a string or items (messages, " +
      "function_call, function_call_output, reasoning), `instructions`, function `tools`, `text.format`, `previous_response_id`. " +
      "The body follows OpenAI's CreateResponse (what lavash cannot honour is a 400 naming the parameter; see docs/responses.md). " +
      "With `stream: true` the answer is server-sent events, each `event: <type>` + `data: <event>` with a `sequence_number` " +
      "(response.created … response.completed or response.incomplete), without `[DONE]`; a failure mid-stream is an `error` event. " +
      "With `store` (the default) and a store (not `--no-store`) the response is kept.",
    tag: "OpenAI",
    auth: "key",
    ok: {
      description: "The response object (status completed or incomplete), or with `stream: true` its events.",
      json: RESPONSE_OBJECT,
    },
    errors: GENERATION_ERRORS,
  },
  "GET /v1/responses/:id": {
    operationId: "getResponse",
    summary: "Retrieve a stored response",
    tag: "OpenAI",
    auth: "key",
    ok: { description: "The response as it was returned.", json: RESPONSE_OBJECT },
    errors: [400, 404],
  },
  "DELETE /v1/responses/:id": {
    operationId: "deleteResponse",
    summary: "Delete a stored response",
    tag: "OpenAI",
    auth: "key",
    ok: {
      description: "The response is deleted.",
      json: {
        type: "object",
        required: ["id", "object", "deleted"],
        properties: { id: { type: "string" }, object: { const: "response" }, deleted: { const: true } },
      },
    },
    errors: [404],
  },
  "GET /v1/responses/:id/input_items": {
    operationId: "listInputItems",
    summary: "List a stored response's input items",
    description:
      "The items of the request's `input` (not those of earlier responses it continued), with ids; `limit` 1..100 " +
      "(default 20), `order` asc or desc (the default), `after` and `before` item ids.",
    tag: "OpenAI",
    auth: "key",
    ok: {
      description: "A page of input items.",
      json: {
        type: "object",
        required: ["object", "data", "first_id", "last_id", "has_more"],
        properties: {
          object: { const: "list" },
          data: { type: "array", items: { type: "object", required: ["id", "type"] } },
          first_id: { type: ["string", "null"] },
          last_id: { type: ["string", "null"] },
          has_more: { type: "boolean" },
        },
      },
    },
    errors: [400, 404],
  },
  "POST /v1/embeddings": {
    operationId: "createEmbedding",
    summary: "Embeddings",
    description:
      "L2-normalized embedding vectors, with the model's own pooling; `encoding_format: base64` gives little-endian float32.",
    tag: "OpenAI",
    auth: "key",
    body: "EmbeddingRequest",
    ok: { description: "The embeddings, in input order.", json: "EmbeddingList" },
    errors: [...BODY_ERRORS, 404, 429],
  },
  "GET /v1/models": {
    operationId: "listModels",
    summary: "List models",
    tag: "OpenAI",
    auth: "key",
    ok: { description: "The models served.", json: "ModelList" },
    errors: [],
  },
  "GET /v1/models/*": {
    operationId: "retrieveModel",
    summary: "Retrieve a model",
    tag: "OpenAI",
    auth: "key",
    wildcard: {
      name: "model",
      description: "The model's id. An id containing `/` may be sent encoded (`%2F`) or raw.",
    },
    ok: { description: "The model.", json: "Model" },
    errors: [404],
  },
  "GET /v1/status": {
    operationId: "getStatus",
    summary: "Scheduler status (lavash)",
    description:
      "Each sequence's state, the queue and the scheduler's counters, with the mean number of sequences per decode.",
    tag: "Operations",
    auth: "key",
    ok: { description: "The engine's status.", json: "Status" },
    errors: [],
  },
  "GET /health": {
    operationId: "getHealth",
    summary: "Health",
    description: "200 once every model is loaded; 503 while loading, after a failed load, and while shutting down.",
    tag: "Operations",
    auth: "optional-key",
    ok: { description: "Every model is loaded.", json: "Health" },
    errors: [],
  },
  "GET /metrics": {
    operationId: "getMetrics",
    summary: "Prometheus metrics",
    description:
      "Prometheus text exposition format. Off with `--no-metrics` (the route is then not registered, nor documented).",
    tag: "Operations",
    auth: "optional-key",
    ok: { description: "The metrics.", text: "text/plain" },
    errors: [],
  },
  "POST /tokenize": {
    operationId: "tokenize",
    summary: "Tokenize (vLLM)",
    description:
      "vLLM's tokenize: a text prompt, or chat messages rendered as chat completions render them. " +
      "`model` may be left out (the first model served).",
    ...VLLM,
    body: ["TokenizeCompletionRequest", "TokenizeChatRequest"],
    ok: { description: "The tokens.", json: "TokenizeResponse" },
  },
  "POST /detokenize": {
    operationId: "detokenize",
    summary: "Detokenize (vLLM)",
    description: "vLLM's detokenize; ids outside the vocabulary are a 400.",
    ...VLLM,
    body: "DetokenizeRequest",
    ok: { description: "The text of the tokens.", json: "DetokenizeResponse" },
  },
  "POST /v1/cache/match": {
    operationId: "matchCache",
    summary: "Prefix-cache match (lavash)",
    description:
      "How many prompt tokens of a request the model's KV cache holds now, without running it: the body of a chat " +
      "completion (`messages`), a completion (`prompt`) or a Responses API request (`input`, `previous_response_id`), " +
      "checked and rendered as that endpoint does; `cached_tokens` is what its usage would report if it were sent now. " +
      "The gateway probes lavash replicas with it (docs/gateway.md).",
    tag: "Operations",
    auth: "key",
    // The body is one of three endpoints' (ChatCompletionRequest, CompletionRequest, the Responses
    // API's, which the document leaves unnamed): described in words rather than as a oneOf.
    ok: { description: "The prompt's tokens and those cached.", json: "CacheMatch" },
    errors: [...BODY_ERRORS, 404, 501],
  },
  "POST /models/load": {
    operationId: "loadModel",
    summary: "Load a model (admin)",
    description: "Loads a new model, or a configured one that was unloaded, while serving. Needs an --admin-key.",
    ...ADMIN,
    body: "LoadModelRequest",
    ok: { description: "The model, loaded.", json: "LoadedModel" },
  },
  "POST /models/unload": {
    operationId: "unloadModel",
    summary: "Unload a model (admin)",
    description:
      "Frees a model's memory (its next request loads it again), or with `forget: true` stops serving it. Needs an --admin-key.",
    ...ADMIN,
    body: "UnloadModelRequest",
    ok: { description: "The model's new state.", json: "ModelState" },
  },
  "GET /openapi.json": {
    operationId: "getOpenApiDocument",
    summary: "This OpenAPI document",
    description:
      "OpenAPI 3.1, generated from the request schemas the server validates with and the routes it registered.",
    tag: "Operations",
    auth: "key",
    ok: { description: "The OpenAPI 3.1 document.", json: { type: "object", required: ["openapi", "info", "paths"] } },
    errors: [],
  },
};
