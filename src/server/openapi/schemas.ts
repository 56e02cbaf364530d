// components/schemas of the OpenAPI document: the request schemas the routes parse with (src/endpoints/*/schema.ts),
// and the response schemas of ./responses.ts, converted by z.toJSONSchema to JSON Schema 2020-12
// (OpenAPI 3.1's dialect). Requests are converted as inputs (what a client may send), responses
// as outputs (what the server sends). Refinements (cross-field rules such as "stream_options
// needs stream") have no JSON Schema form and do not appear; the 400 they give is documented.
import { z } from "zod";
import { chatCompletionRequestSchema } from "../../endpoints/chat-completions/schema.js";
import { EXTENSION_PARAMETERS, type Endpoint } from "../../endpoints/shared/request-fields.js";
import { completionRequestSchema } from "../../endpoints/completions/schema.js";
import { embeddingRequestSchema } from "../../endpoints/embeddings/schema.js";
import { loadModelRequestSchema, unloadModelRequestSchema } from "../../endpoints/admin/schema.js";
import {
  detokenizeRequestSchema,
  tokenizeChatRequestSchema,
  tokenizeCompletionRequestSchema,
} from "../../endpoints/tokenize/schema.js";
import * as responses from "./responses.js";

export type JsonSchema = Record<string, unknown>;

const REQUESTS = {
  ChatCompletionRequest: chatCompletionRequestSchema,
  // The chat message is shared by chat completions and /tokenize: one definition, two $refs.
  ChatMessage: chatCompletionRequestSchema.shape.messages.element,
  CompletionRequest: completionRequestSchema,
  EmbeddingRequest: embeddingRequestSchema,
  TokenizeCompletionRequest: tokenizeCompletionRequestSchema,
  TokenizeChatRequest: tokenizeChatRequestSchema,
  DetokenizeRequest: detokenizeRequestSchema,
  LoadModelRequest: loadModelRequestSchema,
  UnloadModelRequest: unloadModelRequestSchema,
} satisfies Record<string, z.ZodType>;

const RESPONSES = {
  Error: responses.errorResponseSchema,
  ChatCompletion: responses.chatCompletionSchema,
  ChatCompletionChunk: responses.chatCompletionChunkSchema,
  Completion: responses.completionSchema,
  CompletionChunk: responses.completionChunkSchema,
  EmbeddingList: responses.embeddingListSchema,
  Model: responses.modelSchema,
  ModelList: responses.modelListSchema,
  ModelState: responses.modelStateSchema,
  LoadedModel: responses.loadedModelSchema,
  TokenizeResponse: responses.tokenizeResponseSchema,
  DetokenizeResponse: responses.detokenizeResponseSchema,
  CacheMatch: responses.cacheMatchSchema,
  Health: responses.healthSchema,
  ItsDiagnostics: responses.itsDiagnosticsSchema,
  Status: responses.statusSchema,
} satisfies Record<string, z.ZodType>;

export type SchemaName = keyof typeof REQUESTS | keyof typeof RESPONSES;

/** Request schemas whose top-level properties include EXTENSION_PARAMETERS of an endpoint. */
const EXTENSION_ENDPOINTS: Partial<Record<SchemaName, Endpoint>> = {
  ChatCompletionRequest: "chat",
  CompletionRequest: "completions",
};

export const EXTENSION_KEYWORD = "x-lavash-extension";

export function schemaRef(name: SchemaName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

let components: Record<SchemaName, JsonSchema> | undefined;

/** Every named schema, converted once per process (the zod schemas never change). */
export function componentSchemas(): Record<SchemaName, JsonSchema> {
  components ??= {
    ...convert(REQUESTS, "input"),
    ...convert(RESPONSES, "output"),
  } as Record<SchemaName, JsonSchema>;
  return components;
}

function convert(schemas: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const options = { target: "draft-2020-12", io, unrepresentable: "any" } as const;
  const { schemas: converted } = z.toJSONSchema(registry, {
    ...options,
    uri: (id) => schemaRef(id as SchemaName).$ref,
    override: (ctx) => {
      if (io === "input") tightenPipe(ctx.zodSchema, ctx.jsonSchema as JsonSchema, options);
    },
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, json] of Object.entries(converted)) {
    // Each schema is a part of the document, not a document: no dialect, no identifier of its own.
    const { $schema: _dialect, $id: _id, ...rest } = json as JsonSchema;
    out[id] = markExtensions(id as SchemaName, rest);
  }
  return out;
}

/**
 * A pipe converted as an input is only its first schema; when that one passes values through
 * unchanged (the guards of the legacy prompt's array forms), the value must also satisfy the
 * second, so it is added as `allOf`. Without this `prompt: [-1]` would look valid.
 */
function tightenPipe(schema: z.core.$ZodType, json: JsonSchema, options: Parameters<typeof z.toJSONSchema>[1]): void {
  const def = schema._zod.def;
  if (def.type !== "pipe") return;
  const { in: first, out: second } = def as z.core.$ZodPipeDef;
  if (first._zod.def.type === "transform" || second._zod.def.type === "transform") return;
  const { $schema: _dialect, ...then } = z.toJSONSchema(second, options) as JsonSchema;
  json.allOf = [...((json.allOf as JsonSchema[] | undefined) ?? []), then];
}

/** Tags each extension parameter with where it comes from (and says what it does). */
function markExtensions(name: SchemaName, json: JsonSchema): JsonSchema {
  const endpoint = EXTENSION_ENDPOINTS[name];
  if (endpoint === undefined) return json;
  const properties = json.properties as Record<string, JsonSchema>;
  for (const [param, extension] of Object.entries(EXTENSION_PARAMETERS)) {
    if (!extension.endpoints.includes(endpoint)) continue;
    const property = properties[param];
    if (property === undefined)
      throw new Error(`extension parameter '${param}' is listed for ${endpoint} but ${name} has no such property`);
    properties[param] = {
      description: extension.description,
      ...property,
      [EXTENSION_KEYWORD]: { origin: extension.origin },
    };
  }
  return json;
}
