// The HTTP application: Fastify with OpenAI-shaped errors everywhere, request ids, one log line
// per request, auth, CORS, limits and metrics, and the endpoints' routes. Each endpoint lives in
// src/endpoints/<endpoint>/ (schema, mapping onto the engine, response builders, route).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import {
  ApiError,
  describeCause,
  invalidJson,
  invalidRequest,
  routeNotFound,
  serverError,
  toErrorBody,
} from "../endpoints/shared/errors.js";
import type { Engine } from "../engine/types.js";
import type { Logger } from "./logger.js";
import type { ResponseStore } from "../storage/response-store.js";
import { newRequestId } from "../endpoints/shared/response-fields.js";
import { DEFAULT_ITS_MAX_TOKENS } from "../endpoints/shared/its/plan.js";
import { DEFAULT_BODY_LIMIT, bodyTooLarge } from "./body-limit.js";
import { registerChatCompletions } from "../endpoints/chat-completions/route.js";
import { registerCompletions } from "../endpoints/completions/route.js";
import { registerResponses } from "../endpoints/responses/route.js";
import { registerEmbeddings } from "../endpoints/embeddings/route.js";
import { registerHealth } from "../endpoints/health/route.js";
import { registerModels } from "../endpoints/models/route.js";
import { registerAdmin } from "../endpoints/admin/route.js";
import { registerStatus } from "../endpoints/status/route.js";
import { registerTokenize } from "../endpoints/tokenize/route.js";
import { registerCacheMatch } from "../endpoints/cache-match/route.js";
import { registerMetricsRoute } from "./metrics-route.js";
import { registerOpenApi } from "./openapi/route.js";
import type { Arrivals } from "./arrivals.js";
import { registerAuth, type AuthOptions } from "./auth.js";
import { registerCors } from "./cors.js";
import { registerInFlight } from "./in-flight.js";
import { registerMetrics } from "./metrics.js";
import { registerGateway } from "../gateway/proxy-route.js";
import type { Gateway } from "../gateway/gateway.js";

export interface AppOptions {
  engine: Engine;
  logger: Logger;
  /** Largest accepted request body, bytes (--max-body-size); default DEFAULT_BODY_LIMIT. */
  bodyLimit?: number;
  /** API keys and which of /health and /metrics need one; absent or no keys: open. */
  auth?: AuthOptions;
  /** Origins browsers may call from (`*`: any); absent or empty: no CORS headers. */
  corsOrigins?: readonly string[];
  /** GET /metrics and the hooks that feed it; default on. */
  metrics?: boolean;
  /** Seconds a request may run before its generation is stopped (504); absent or 0: no limit. */
  requestTimeoutSeconds?: number;
  /** Most tokens one inference-time scaling request may make the model evaluate; default 200,000. */
  itsMaxTokens?: number;
  /** Where Responses API responses are kept (`store`); null or absent: nothing is stored (--no-store). Closed with the app. */
  responseStore?: ResponseStore | null;
  /** Models served by upstream replicas (src/gateway/); absent: local models only. */
  gateway?: Gateway | null;
  /** Counts generation requests until their handler runs, for the engine (see arrivals.ts); absent: not counted. */
  arrivals?: Arrivals;
}

/** Facts a route learns about a request (model, tokens) for its log line. */
export interface RequestFacts {
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  cachedPromptTokens?: number;
  finishReason?: string;
  stream?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    facts: RequestFacts;
  }
}

export function buildApp(options: AppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // One line per request is written by the onRequest hook below, with model and token counts.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
  });
  registerOpenApi(app); // first: its onRoute hook collects every route registered after it
  const store = options.responseStore;
  if (store)
    app.addHook("onClose", (_app, done) => {
      store.close();
      done();
    });

  app.decorateRequest("facts", null as unknown as RequestFacts);
  app.addHook("onRequest", (request, reply, done) => {
    request.facts = {};
    reply.header("x-request-id", request.id);
    const started = performance.now();
    // 'close' covers every ending: sent, hijacked stream ended, or the client going away.
    reply.raw.once("close", () => {
      request.log.info(
        {
          method: request.method,
          url: request.url,
          status: reply.raw.statusCode,
          ms: Math.round(performance.now() - started),
          completed: reply.raw.writableFinished,
          ...request.facts,
        },
        "request",
      );
    });
    done();
  });
  // Hook order matters: a hook that answers (preflight, 503 while draining, 401) ends the chain,
  // so metrics count those answers and CORS headers are on them.
  options.arrivals?.register(app);
  const registry = options.metrics === false ? null : registerMetrics(app, options.engine);
  registerCors(app, options.corsOrigins ?? []);
  registerInFlight(app, options.requestTimeoutSeconds ?? 0);
  registerAuth(app, options.auth ?? { keys: [] }, registry);

  // Any content type is read as JSON: curl's default form type and a missing header are common
  // mistakes with one obvious meaning.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(invalidJson((error as Error).message), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    let apiError: ApiError;
    if (error instanceof ApiError) apiError = error;
    else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      apiError = bodyTooLarge(options.bodyLimit ?? DEFAULT_BODY_LIMIT, Number(request.headers["content-length"]));
      // The rest of the body is still on its way (it was refused unread, by its Content-Length,
      // or once the limit was passed). Closing the connection after the answer stops the client
      // from sending it; keeping the connection alive would make Node read it all to discard it.
      if (!request.raw.complete) reply.header("connection", "close");
    } else if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500)
      apiError = invalidRequest(error.message);
    else apiError = serverError(undefined, error);
    // Every 500 says why in the log, under the request's id (request.log carries it as reqId):
    // the client sees only OpenAI's generic message.
    if (apiError.status === 500)
      request.log.error({ err: apiError.cause ?? apiError }, `internal error: ${describeCause(apiError)}`);
    void reply.status(apiError.status).headers(apiError.headers).send(toErrorBody(apiError));
  });
  app.setNotFoundHandler((request, reply) => {
    const e = routeNotFound(request.method, request.url);
    void reply.status(e.status).send(toErrorBody(e));
  });

  registerGateway(app, options.gateway, registry);
  registerHealth(app, options.engine);
  registerModels(app, options.engine, options.gateway);
  registerAdmin(app, options.engine);
  registerStatus(app, options.engine);
  const itsLimits = { maxTokensEvaluated: options.itsMaxTokens ?? DEFAULT_ITS_MAX_TOKENS };
  registerChatCompletions(app, options.engine, itsLimits);
  registerCompletions(app, options.engine, itsLimits);
  registerResponses(app, options.engine, itsLimits, store ?? null);
  registerEmbeddings(app, options.engine);
  registerTokenize(app, options.engine);
  registerCacheMatch(app, options.engine, itsLimits, store ?? null);
  if (registry !== null) registerMetricsRoute(app, registry);
  return app;
}

export interface StartOptions extends AppOptions {
  host: string;
  port: number;
}

export async function startServer(options: StartOptions): Promise<FastifyInstance> {
  const app = buildApp(options);
  await app.listen({ host: options.host, port: options.port });
  return app;
}
