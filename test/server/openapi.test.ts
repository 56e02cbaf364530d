// GET /openapi.json against the real server. The official OpenAPI 3.1 meta-schema is not
// available offline, so the document is checked structurally (version, operations, $refs,
// security), its request schemas are compiled with Ajv (JSON Schema 2020-12) and must agree with
// the zod schemas the server parses with, real responses must validate against the documented
// response schemas, and the documented operations must be exactly the routes the router has.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import type { z } from "zod";
import { chatCompletionRequestSchema } from "../../src/endpoints/chat-completions/schema.js";
import { EXTENSION_PARAMETERS } from "../../src/endpoints/shared/request-fields.js";
import { completionRequestSchema } from "../../src/endpoints/completions/schema.js";
import { embeddingRequestSchema } from "../../src/endpoints/embeddings/schema.js";
import { loadModelRequestSchema, unloadModelRequestSchema } from "../../src/endpoints/admin/schema.js";
import {
  detokenizeRequestSchema,
  tokenizeChatRequestSchema,
  tokenizeCompletionRequestSchema,
} from "../../src/endpoints/tokenize/schema.js";
import { buildApp } from "../../src/server/app.js";
import {
  EVENT_KEYWORD,
  JSON_SCHEMA_DIALECT,
  openApiPath,
  routeKey,
  undocumentedRoutes,
  type OpenApiDocument,
  type RegisteredRoute,
} from "../../src/server/openapi/document.js";
import { ROUTE_DOCS } from "../../src/server/openapi/routes.js";
import { EXTENSION_KEYWORD } from "../../src/server/openapi/schemas.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

type Json = Record<string, unknown>;

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** Every route lavash serves by default, as OpenAPI names them. */
const EXPECTED_OPERATIONS = [
  "GET /health",
  "GET /metrics",
  "GET /openapi.json",
  "GET /v1/models",
  "GET /v1/models/{model}",
  "GET /v1/status",
  "POST /detokenize",
  "POST /models/load",
  "POST /models/unload",
  "POST /tokenize",
  "POST /v1/cache/match",
  "POST /v1/chat/completions",
  "POST /v1/completions",
  "POST /v1/embeddings",
  "POST /v1/responses",
  "GET /v1/responses/{id}",
  "DELETE /v1/responses/{id}",
  "GET /v1/responses/{id}/input_items",
];

let server: TestServer;
let doc: OpenApiDocument;
before(async () => {
  server = await startTestServer({ contextSize: 512, parallel: 2 });
  const res = await fetch(`${server.root}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  doc = (await res.json()) as OpenApiDocument;
});
after(async () => {
  await server?.close();
});

/** Each operation of the document as "METHOD /path". */
function documentedOperations(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => HTTP_METHODS.includes(k))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
}

/** What the document lacks, and what it has that the router does not, compared with the routes registered. */
function coverageGaps(
  document: OpenApiDocument,
  routes: readonly RegisteredRoute[],
): { missing: string[]; extra: string[] } {
  const registered = routes.map((r) => `${r.method} ${openApiPath(r.url, ROUTE_DOCS[routeKey(r)] ?? {})}`).sort();
  const documented = documentedOperations(document);
  return {
    missing: registered.filter((op) => !documented.includes(op)),
    extra: documented.filter((op) => !registered.includes(op)),
  };
}

function operations(document: OpenApiDocument): [string, string, Json][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]): [string, string, Json] => [path, method, op]),
  );
}

/** A JSON pointer as a URI fragment. */
function pointer(...segments: string[]): string {
  return `#${segments.map((s) => `/${encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))}`).join("")}`;
}

function resolvePointer(root: unknown, ref: string): unknown {
  assert.ok(ref.startsWith("#/"), `only local $refs are expected: ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, out);
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") out.push(value);
      else collectRefs(value, out);
    }
  }
  return out;
}

// ---- Ajv over the served document ----

const BASE = "https://lavash.invalid/openapi.json";
let ajv: Ajv2020;
const validators = new Map<string, ValidateFunction>();

/** A validator for the schema at `ref` (a pointer into the document), refs resolved as the document's. */
function validatorAt(ref: string): ValidateFunction {
  if (!ajv) {
    // Strict: a keyword Ajv does not know (a typo, an OpenAPI-only word) inside a schema fails.
    // The document's own top-level fields and the extension marker are declared as annotations.
    ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const keyword of [...Object.keys(doc).filter((k) => k !== "$id"), EXTENSION_KEYWORD]) ajv.addKeyword(keyword);
    ajv.addSchema({ ...doc, $id: BASE });
  }
  let validate = validators.get(ref);
  if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: BASE + ref })));
  return validate;
}

function requestBodyRef(path: string, method: string): string {
  return pointer("paths", path, method, "requestBody", "content", "application/json", "schema");
}

function okJsonRef(path: string, method: string): string {
  return pointer("paths", path, method, "responses", "200", "content", "application/json", "schema");
}

/** The body schema of an error response (declared through components/responses). */
function errorRef(path: string, method: string, status: number): string {
  const response = (doc.paths[path]![method]!.responses as Json)[String(status)] as Json | undefined;
  assert.ok(response?.$ref, `${method.toUpperCase()} ${path} does not document ${status}`);
  return (response.$ref as string) + pointer("content", "application/json", "schema").slice(1);
}

function assertValid(ref: string, value: unknown, what: string): void {
  const validate = validatorAt(ref);
  assert.ok(
    validate(value),
    `${what} does not match ${ref}: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${JSON.stringify(value).slice(0, 500)}`,
  );
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document", () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.jsonSchemaDialect, JSON_SCHEMA_DIALECT);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    assert.equal(doc.info.title, "lavash");
    assert.equal(doc.info.version, pkg.version);
    const tags = new Set((doc.tags as { name: string }[]).map((t) => t.name));
    const ids = new Set<string>();
    for (const [path, method, op] of operations(doc)) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.equal(typeof op.operationId, "string", where);
      assert.ok(!ids.has(op.operationId as string), `${where}: operationId ${op.operationId} used twice`);
      ids.add(op.operationId as string);
      assert.equal(typeof op.summary, "string", where);
      for (const tag of op.tags as string[]) assert.ok(tags.has(tag), `${where}: tag ${tag} is not declared`);
      const responses = op.responses as Json;
      assert.ok(responses["200"], `${where} has no 200 response`);
      for (const [status, response] of Object.entries(responses)) {
        assert.match(status, /^[1-5]\d\d$/, where);
        const resolved = (
          (response as Json).$ref ? resolvePointer(doc, (response as Json).$ref as string) : response
        ) as Json;
        assert.equal(typeof resolved.description, "string", `${where} ${status} has no description`);
      }
      // Every template parameter is declared, as a required path parameter.
      const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === "path").map((p) => p.name);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      assert.deepEqual(declared, templated, `${where} parameters`);
      for (const p of (op.parameters ?? []) as Json[])
        assert.equal(p.required, true, `${where} path parameter ${p.name}`);
      if (op.security) {
        for (const requirement of op.security as Json[])
          for (const scheme of Object.keys(requirement))
            assert.ok(doc.components.securitySchemes![scheme], `${where}: unknown scheme ${scheme}`);
      }
    }
  });

  it("resolves every $ref inside the document", () => {
    const refs = collectRefs(doc);
    assert.ok(refs.length > 50, `only ${refs.length} $refs`);
    for (const ref of new Set(refs)) assert.notEqual(resolvePointer(doc, ref), undefined, `unresolved $ref ${ref}`);
  });

  it("documents exactly the routes the router registered", () => {
    const routes = server.app.openApi.routes();
    for (const r of routes)
      assert.ok(server.app.hasRoute({ method: r.method as "GET", url: r.url }), `${routeKey(r)} is not in the router`);
    assert.deepEqual(undocumentedRoutes(routes), []);
    assert.deepEqual(coverageGaps(doc, routes), { missing: [], extra: [] });
    assert.deepEqual(documentedOperations(doc), [...EXPECTED_OPERATIONS].sort());
    // HEAD twins of GET routes are Fastify's, not routes of their own.
    assert.ok(!routes.some((r) => r.method === "HEAD"));
  });

  it("reports a route registered without docs, and leaves out routes that are off", async () => {
    const app: FastifyInstance = buildApp({ engine: server.engine, logger: pino({ level: "silent" }), metrics: false });
    try {
      app.get("/v1/dummy", async () => ({}));
      await app.ready();
      const routes = app.openApi.routes();
      assert.deepEqual(undocumentedRoutes(routes), [{ method: "GET", url: "/v1/dummy" }]);
      const res = await app.inject({ method: "GET", url: "/openapi.json" });
      assert.equal(res.statusCode, 200);
      const document = res.json() as OpenApiDocument;
      assert.deepEqual(coverageGaps(document, routes), { missing: ["GET /v1/dummy"], extra: [] });
      assert.equal(document.paths["/metrics"], undefined, "metrics are off in this app");
      assert.ok(document.paths["/v1/chat/completions"]);
    } finally {
      await app.close();
    }
  });

  it("maps the models wildcard to a {model} path parameter", () => {
    const op = doc.paths["/v1/models/{model}"]!.get!;
    assert.deepEqual(
      (op.parameters as Json[]).map((p) => [p.name, p.in, p.required]),
      [["model", "path", true]],
    );
    assert.equal(doc.paths["/v1/models/*"], undefined);
  });

  it("gives every error OpenAI's error schema, and streaming endpoints a text/event-stream alternative", () => {
    const error = doc.components.schemas!.Error as Json;
    const inner = (error.properties as Json).error as Json;
    assert.deepEqual([...(inner.required as string[])].sort(), ["code", "message", "param", "type"]);
    for (const response of Object.values(doc.components.responses!))
      assert.deepEqual((response.content as Json)["application/json"], {
        schema: { $ref: "#/components/schemas/Error" },
      });
    const chat = doc.paths["/v1/chat/completions"]!.post!;
    const statuses = Object.keys(chat.responses as Json);
    for (const s of ["200", "400", "401", "404", "429", "500", "503"])
      assert.ok(statuses.includes(s), `chat lacks ${s}`);
    for (const [path, chunk] of [
      ["/v1/chat/completions", "ChatCompletionChunk"],
      ["/v1/completions", "CompletionChunk"],
    ] as const) {
      const content = (((doc.paths[path]!.post!.responses as Json)["200"] as Json).content ?? {}) as Json;
      assert.ok(content["application/json"], path);
      const events = content["text/event-stream"] as Json;
      assert.deepEqual(events[EVENT_KEYWORD], { $ref: `#/components/schemas/${chunk}` });
    }
    const metrics = ((doc.paths["/metrics"]!.get!.responses as Json)["200"] as Json).content as Json;
    assert.deepEqual(Object.keys(metrics), ["text/plain"]);
  });

  it("notes the bearer schemes: API key by default, optional for /health and /metrics, the admin key for admin routes", () => {
    for (const scheme of ["bearerAuth", "adminKey"]) {
      const { type, scheme: kind } = doc.components.securitySchemes![scheme] as Json;
      assert.deepEqual([type, kind], ["http", "bearer"], scheme);
    }
    assert.deepEqual(doc.security, [{ bearerAuth: [] }]);
    assert.deepEqual(doc.paths["/health"]!.get!.security, [{}, { bearerAuth: [] }]);
    assert.deepEqual(doc.paths["/models/load"]!.post!.security, [{ adminKey: [] }]);
    assert.equal(doc.paths["/v1/chat/completions"]!.post!.security, undefined, "the document's default");
  });

  it("marks exactly the extension parameters, with their origin", () => {
    const marked: string[] = [];
    const schemas = doc.components.schemas as Record<string, Json>;
    for (const [name, schema] of Object.entries(schemas)) {
      for (const [param, property] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
        const mark = property[EXTENSION_KEYWORD] as { origin: string } | undefined;
        if (mark !== undefined) marked.push(`${name}.${param}:${mark.origin}`);
      }
    }
    const expected = Object.entries(EXTENSION_PARAMETERS).flatMap(([param, e]) =>
      e.endpoints.map(
        (endpoint) => `${endpoint === "chat" ? "ChatCompletionRequest" : "CompletionRequest"}.${param}:${e.origin}`,
      ),
    );
    assert.deepEqual(marked.sort(), expected.sort());
    assert.equal(
      JSON.stringify(schemas).split(`"${EXTENSION_KEYWORD}"`).length - 1,
      expected.length,
      "no mark outside top-level properties",
    );
    const topK = (schemas.ChatCompletionRequest!.properties as Record<string, Json>).top_k!;
    assert.equal(topK.description, EXTENSION_PARAMETERS.top_k!.description);
  });
});

describe("request schemas in the document", () => {
  it("compile with Ajv (JSON Schema 2020-12, strict)", () => {
    for (const [path, method, op] of operations(doc)) if (op.requestBody) validatorAt(requestBodyRef(path, method));
  });

  // [path, the zod schemas the route parses with (/tokenize: either), body, valid?]
  const samples: [string, z.ZodType[], unknown, boolean][] = [
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      { model: "tiny", messages: [{ role: "user", content: "Hi" }] },
      true,
    ],
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      { model: "tiny", messages: [{ role: "user", content: "Hi" }], temperature: 5 },
      false,
    ],
    ["/v1/chat/completions", [chatCompletionRequestSchema], { model: "tiny", messages: [] }, false],
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      { model: "tiny", messages: [{ role: "user", content: "Hi" }], frobnicate: 1 },
      false,
    ],
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      {
        model: "tiny",
        messages: [{ role: "user", content: "Hi" }],
        top_k: 40,
        min_p: null,
        reasoning_format: "parsed",
      },
      true,
    ],
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      { model: "tiny", messages: [{ role: "wizard", content: "Hi" }] },
      false,
    ],
    [
      "/v1/chat/completions",
      [chatCompletionRequestSchema],
      {
        model: "tiny",
        messages: [{ role: "user", content: "Hi" }],
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
      },
      true,
    ],
    ["/v1/completions", [completionRequestSchema], { model: "tiny", prompt: "Hi" }, true],
    [
      "/v1/completions",
      [completionRequestSchema],
      { model: "tiny", prompt: [[1, 2], [3]], max_tokens: 0, logprobs: 5 },
      true,
    ],
    ["/v1/completions", [completionRequestSchema], { model: "tiny", prompt: [-1] }, false],
    ["/v1/completions", [completionRequestSchema], { model: "tiny", prompt: ["a", 1] }, false],
    ["/v1/completions", [completionRequestSchema], { model: "tiny", prompt: "Hi", logprobs: 6 }, false],
    ["/v1/embeddings", [embeddingRequestSchema], { model: "tiny", input: ["a", "b"], encoding_format: "base64" }, true],
    ["/v1/embeddings", [embeddingRequestSchema], { model: "tiny", input: "" }, false],
    [
      "/tokenize",
      [tokenizeCompletionRequestSchema, tokenizeChatRequestSchema],
      { prompt: "Hi", return_token_strs: true },
      true,
    ],
    [
      "/tokenize",
      [tokenizeCompletionRequestSchema, tokenizeChatRequestSchema],
      { messages: [{ role: "user", content: "Hi" }], add_generation_prompt: true },
      true,
    ],
    [
      "/tokenize",
      [tokenizeCompletionRequestSchema, tokenizeChatRequestSchema],
      { prompt: "Hi", messages: [{ role: "user", content: "Hi" }] },
      false,
    ],
    ["/tokenize", [tokenizeCompletionRequestSchema, tokenizeChatRequestSchema], {}, false],
    ["/detokenize", [detokenizeRequestSchema], { tokens: [1, 2] }, true],
    ["/detokenize", [detokenizeRequestSchema], { tokens: [-1] }, false],
    ["/models/load", [loadModelRequestSchema], { model: "m", source: "builtin:tiny", ctx_size: 512 }, true],
    ["/models/load", [loadModelRequestSchema], { model: "" }, false],
    ["/models/unload", [unloadModelRequestSchema], { model: "m", forget: true }, true],
    ["/models/unload", [unloadModelRequestSchema], { forget: true }, false],
  ];

  it("accept and refuse what the server's own zod schemas accept and refuse", () => {
    for (const [path, zodSchemas, body, valid] of samples) {
      const what = `${path} ${JSON.stringify(body)}`;
      assert.equal(
        zodSchemas.some((s) => s.safeParse(body).success),
        valid,
        `zod: ${what}`,
      );
      const validate = validatorAt(requestBodyRef(path, "post"));
      assert.equal(validate(body), valid, `document: ${what} ${JSON.stringify(validate.errors?.slice(0, 2))}`);
    }
    const covered = new Set(samples.map(([path]) => path));
    for (const [path, method, op] of operations(doc))
      if (op.requestBody) assert.ok(covered.has(path), `no samples for ${method} ${path}`);
  });

  it("are what the server enforces: a body the document refuses is a 400", async () => {
    for (const [path, , body, valid] of samples) {
      if (valid || path.startsWith("/models/")) continue; // the admin routes are off here (403 before parsing)
      const res = await fetch(`${server.root}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assertValid(errorRef(path, "post", 400), await res.json(), "400 body");
    }
  });
});

describe("responses match the document", () => {
  async function get(path: string): Promise<unknown> {
    const res = await fetch(`${server.root}${path}`);
    assert.equal(res.status, 200, path);
    return res.json();
  }
  async function post(path: string, body: unknown): Promise<Response> {
    const res = await fetch(`${server.root}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return res;
  }
  /** The `data` of each event, [DONE] left out. */
  async function events(res: Response): Promise<unknown[]> {
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await res.text();
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
    return text
      .split("\n\n")
      .map((e) => e.trim())
      .filter((e) => e.startsWith("data: ") && e !== "data: [DONE]")
      .map((e) => JSON.parse(e.slice("data: ".length)) as unknown);
  }
  const eventsRef = (path: string) =>
    pointer("paths", path, "post", "responses", "200", "content", "text/event-stream", EVENT_KEYWORD);
  const chat = { model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, seed: 1 };

  it("GET routes", async () => {
    for (const path of ["/v1/models", "/v1/models/tiny", "/v1/status", "/health"]) {
      const documented = path === "/v1/models/tiny" ? "/v1/models/{model}" : path;
      assertValid(okJsonRef(documented, "get"), await get(path), path);
    }
    const missing = await fetch(`${server.root}/v1/models/nope`);
    assert.equal(missing.status, 404);
    assertValid(errorRef("/v1/models/{model}", "get", 404), await missing.json(), "404 body");
  });

  it("chat completions, whole and streamed", async () => {
    const whole = await post("/v1/chat/completions", { ...chat, logprobs: true, top_logprobs: 2, n: 2 });
    assertValid(okJsonRef("/v1/chat/completions", "post"), await whole.json(), "chat.completion");
    const stream = await post("/v1/chat/completions", {
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
      logprobs: true,
    });
    const chunks = await events(stream);
    assert.ok(chunks.length > 2);
    for (const chunk of chunks) assertValid(eventsRef("/v1/chat/completions"), chunk, "chat.completion.chunk");
  });

  it("legacy completions, whole and streamed", async () => {
    const body = { model: "tiny", prompt: ["Hi", "there"], max_tokens: 3, seed: 1, logprobs: 2, echo: true };
    assertValid(
      okJsonRef("/v1/completions", "post"),
      await (await post("/v1/completions", body)).json(),
      "text_completion",
    );
    const chunks = await events(
      await post("/v1/completions", { ...body, stream: true, stream_options: { include_usage: true } }),
    );
    for (const chunk of chunks) assertValid(eventsRef("/v1/completions"), chunk, "text_completion chunk");
  });

  it("embeddings, tokenize, detokenize, metrics", async () => {
    for (const encoding_format of ["float", "base64"]) {
      const res = await post("/v1/embeddings", { model: "tiny", input: ["a", "b c"], encoding_format });
      assertValid(okJsonRef("/v1/embeddings", "post"), await res.json(), `embeddings ${encoding_format}`);
    }
    for (const body of [{ prompt: "Hi", return_token_strs: true }, { messages: [{ role: "user", content: "Hi" }] }])
      assertValid(okJsonRef("/tokenize", "post"), await (await post("/tokenize", body)).json(), "tokenize");
    assertValid(
      okJsonRef("/detokenize", "post"),
      await (await post("/detokenize", { tokens: [1, 2, 3] })).json(),
      "detokenize",
    );
    const metrics = await fetch(`${server.root}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/, "the media type the document gives");
  });

  it("admin routes that are off answer the documented 403", async () => {
    const res = await fetch(`${server.root}/models/unload`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny" }),
    });
    assert.equal(res.status, 403);
    assertValid(errorRef("/models/unload", "post", 403), await res.json(), "403 body");
  });
});
