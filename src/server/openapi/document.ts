// The OpenAPI 3.1 document: built from the routes the app registered (so a route that is off,
// such as /metrics with --no-metrics, is not in it), what ROUTE_DOCS says about each, and the
// schemas of ./schemas.ts.
import { ROUTE_DOCS, type ErrorStatus, type RouteDoc } from "./routes.js";
import { EXTENSION_KEYWORD, componentSchemas, schemaRef, type JsonSchema } from "./schemas.js";

/** A route as the router registered it: method and Fastify URL pattern (`/v1/models/*`). */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; [key: string]: unknown };
  paths: Record<string, Record<string, JsonSchema>>;
  components: Record<string, Record<string, JsonSchema>>;
  [key: string]: unknown;
}

/** On a `text/event-stream` media type: the schema of each event's `data`. */
export const EVENT_KEYWORD = "x-lavash-event-schema";

export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

export function routeKey(route: RegisteredRoute): string {
  return `${route.method} ${route.url}`;
}

/** Registered routes that ROUTE_DOCS does not describe, which the document therefore lacks. */
export function undocumentedRoutes(routes: readonly RegisteredRoute[]): RegisteredRoute[] {
  return routes.filter((route) => !Object.hasOwn(ROUTE_DOCS, routeKey(route)));
}

/** Fastify's `:name` parameters and trailing `*` as OpenAPI path templates. */
export function openApiPath(url: string, doc: Pick<RouteDoc, "wildcard">): string {
  return url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, `{${doc.wildcard?.name ?? "path"}}`);
}

export function buildOpenApiDocument(routes: readonly RegisteredRoute[], version: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const doc = ROUTE_DOCS[routeKey(route)];
    if (doc === undefined) continue;
    const path = openApiPath(route.url, doc);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(path, doc);
  }
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: JSON_SCHEMA_DIALECT,
    info: {
      title: "lavash",
      version,
      summary: "An OpenAI-compatible LLM inference server",
      description:
        "OpenAI's wire format, plus vLLM's and llama.cpp's extensions and lavash's own (inference-time scaling: `its`). Every error has OpenAI's shape " +
        '`{"error":{"message","type","param","code"}}`. Request parameters that OpenAI does not define are marked ' +
        `\`${EXTENSION_KEYWORD}: {origin}\` (vllm, llama.cpp, or lavash for its own); unknown parameters are a 400, as with OpenAI. ` +
        `A streamed response's events are described by \`${EVENT_KEYWORD}\` on its text/event-stream content.`,
      license: { name: "MIT", identifier: "MIT" },
    },
    tags: [
      { name: "OpenAI", description: "OpenAI's API." },
      { name: "vLLM", description: "vLLM's extension endpoints, with vLLM's shapes, at the root as vLLM serves them." },
      { name: "Admin", description: "Changing what is served while serving; needs an --admin-key." },
      { name: "Operations", description: "Health, metrics and the scheduler's state." },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: componentSchemas(),
      responses: Object.fromEntries(Object.values(ERROR_RESPONSES).map((r) => [r.name, errorResponse(r)])),
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "One of the keys the server was started with (--api-key). A server started without keys is open.",
        },
        adminKey: {
          type: "http",
          scheme: "bearer",
          description: "One of the admin keys the server was started with (--admin-key).",
        },
      },
    },
  };
}

const SECURITY: Record<RouteDoc["auth"], JsonSchema[] | undefined> = {
  key: undefined, // the document's default
  "optional-key": [{}, { bearerAuth: [] }],
  admin: [{ adminKey: [] }],
};

/** Answers every route can give: no key (when keys are set), a bug, a server shutting down. */
const EVERY_ROUTE_ERRORS: readonly ErrorStatus[] = [401, 500, 503];

function operation(path: string, doc: RouteDoc): JsonSchema {
  const op: JsonSchema = { operationId: doc.operationId, summary: doc.summary, tags: [doc.tag] };
  if (doc.description !== undefined) op.description = doc.description;
  const parameters = pathParameters(path, doc);
  if (parameters.length > 0) op.parameters = parameters;
  if (doc.body !== undefined) {
    const schema = typeof doc.body === "string" ? schemaRef(doc.body) : { oneOf: doc.body.map(schemaRef) };
    op.requestBody = { required: true, content: { "application/json": { schema } } };
  }
  const statuses = [...new Set([...doc.errors, ...EVERY_ROUTE_ERRORS])].sort((a, b) => a - b);
  op.responses = {
    "200": okResponse(doc.ok),
    ...Object.fromEntries(
      statuses.map((s) => [String(s), { $ref: `#/components/responses/${ERROR_RESPONSES[s].name}` }]),
    ),
  };
  const security = SECURITY[doc.auth];
  if (security !== undefined) op.security = security;
  return op;
}

function pathParameters(path: string, doc: RouteDoc): JsonSchema[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
    ...(doc.wildcard?.name === name ? { description: doc.wildcard.description } : {}),
  }));
}

function okResponse(ok: RouteDoc["ok"]): JsonSchema {
  const content: Record<string, JsonSchema> = {};
  if (ok.json !== undefined)
    content["application/json"] = { schema: typeof ok.json === "string" ? schemaRef(ok.json) : ok.json };
  if (ok.text !== undefined) content[ok.text] = { schema: { type: "string" } };
  if (ok.events !== undefined) {
    content["text/event-stream"] = {
      schema: {
        type: "string",
        description: `Server-sent events: \`data: <${ok.events} as JSON>\` events, then \`data: [DONE]\`. An error after the stream has started is a \`data: {"error":{...}}\` event, and the stream ends without [DONE].`,
      },
      [EVENT_KEYWORD]: schemaRef(ok.events),
    };
  }
  return {
    description: ok.description,
    headers: { "x-request-id": { $ref: "#/components/headers/RequestId" } },
    content,
  };
}

interface ErrorResponseDoc {
  name: string;
  description: string;
  /** Carries Retry-After (and retry-after-ms). */
  retry?: boolean;
}

const ERROR_RESPONSES: Record<ErrorStatus, ErrorResponseDoc> = {
  400: {
    name: "BadRequest",
    description:
      "The request is invalid: `param` names the parameter and `code` says why (invalid_value, invalid_type, " +
      "missing_required_parameter, unknown_parameter, unsupported_parameter, context_length_exceeded, ...).",
  },
  401: {
    name: "Unauthorized",
    description: "No API key, or a wrong one (code invalid_api_key); only on a server started with keys.",
  },
  403: {
    name: "AdminDisabled",
    description: "The admin endpoints are off: the server was started without --admin-key (code admin_disabled).",
  },
  404: { name: "NotFound", description: "The model does not exist (code model_not_found)." },
  413: { name: "PayloadTooLarge", description: "The body is larger than the server's limit (code request_too_large)." },
  429: {
    name: "RateLimited",
    description: "The queue is full (code rate_limit_exceeded): retry after Retry-After.",
    retry: true,
  },
  500: { name: "ServerError", description: "An error in the server (type server_error)." },
  501: {
    name: "NotImplemented",
    description: "This engine cannot load or unload models while serving (code not_implemented).",
  },
  503: {
    name: "ServiceUnavailable",
    description:
      "A model is loading, or the server is shutting down (code service_unavailable): retry after Retry-After.",
    retry: true,
  },
  504: {
    name: "RequestTimeout",
    description:
      "The generation ran past the server's --request-timeout and was stopped (code request_timeout; x-should-retry: false).",
  },
};

const HEADERS: Record<string, JsonSchema> = {
  RequestId: {
    description: "The request's id, also in the server's log line.",
    schema: { type: "string", pattern: "^req_[0-9a-f]{32}$" },
  },
  RetryAfter: { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 1 } },
  RetryAfterMs: {
    description: "Milliseconds to wait before retrying (the OpenAI SDKs prefer it).",
    schema: { type: "integer", minimum: 0 },
  },
};

function errorResponse(doc: ErrorResponseDoc): JsonSchema {
  const headers: JsonSchema = { "x-request-id": { $ref: "#/components/headers/RequestId" } };
  if (doc.retry === true) {
    headers["Retry-After"] = { $ref: "#/components/headers/RetryAfter" };
    headers["retry-after-ms"] = { $ref: "#/components/headers/RetryAfterMs" };
  }
  return { description: doc.description, headers, content: { "application/json": { schema: schemaRef("Error") } } };
}
