// POST /v1/chat/completions, /v1/completions and /v1/embeddings for a model served by upstream
// replicas: a preHandler in front of the local routes takes the request when its `model` is an
// upstream group, and the local route never sees it. The body goes on as it came (unknown fields
// kept) with `model` renamed; an attempt that fails before any byte reached the client (connect
// error, timeout, 429, 5xx, a stream that broke before its first event) is retried on another
// replica after a backoff, then on the fallback models in order. A local fallback is handed to
// the local route with `model` renamed. Once a stream has begun, a failure ends it with an
// OpenAI-shaped error event.
//
// POST /v1/responses is proxied the same way, its named events re-framed as lavash writes them
// (no [DONE]; the stream must end with a terminal event). The gateway remembers which replica
// produced each response id (a bounded map in Gateway): previous_response_id goes to that replica
// (and only to it: no other has the stored conversation), and GET/DELETE /v1/responses/{id} and
// its input_items are proxied to it. An id the gateway does not know is left to the local routes.
//
// cache_aware routing over replicas marked `cache_probe` (lavash processes) first asks each
// candidate how much of the prompt its KV cache holds (cache-probe.ts), in parallel and briefly.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { ApiError, serviceUnavailable, toErrorBody } from "../endpoints/shared/errors.js";
import { SseStream } from "../endpoints/shared/sse.js";
import { PROBED_ROUTES, probeCaches } from "./cache-probe.js";
import type { Gateway, UpstreamGroup } from "./gateway.js";
import { GatewayMetrics } from "./metrics.js";
import { promptText } from "./prompt-text.js";
import type { ProbedRatios, Replica } from "./router.js";
import {
  ChunkReframer,
  ResponseEventReframer,
  responsesUsage,
  SseParser,
  type StreamReframer,
  type Usage,
} from "./sse-reframe.js";
import { postUpstream, requestUpstream, retryAfterMs, UpstreamUnreachable } from "./upstream-client.js";
import { upstreamError } from "./upstream-errors.js";

export const PROXIED_ROUTES: ReadonlySet<string> = new Set([
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
]);

/** The stored-response routes: proxied to the replica that produced the id, when the gateway knows it. */
export const STORED_RESPONSE_ROUTES: ReadonlySet<string> = new Set([
  "/v1/responses/:id",
  "/v1/responses/:id/input_items",
]);

/** First backoff between attempts; doubled each time up to MAX_BACKOFF_MS, with jitter. */
const BASE_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2_000;
/** A 429 without Retry-After keeps its replica aside this long. */
const DEFAULT_THROTTLE_MS = 1_000;

export function registerGateway(
  app: FastifyInstance,
  gateway: Gateway | null | undefined,
  registry: Registry | null,
): void {
  if (!gateway) return;
  const metrics = registry === null ? null : new GatewayMetrics(registry, gateway);
  gateway.start();
  app.addHook("onClose", (_app, done) => {
    gateway.close();
    done();
  });
  app.addHook("preHandler", async (request, reply) => {
    const path = request.routeOptions.url ?? "";
    if (STORED_RESPONSE_ROUTES.has(path)) {
      const id = (request.params as { id?: unknown } | undefined)?.id;
      const pinned = typeof id === "string" ? gateway.pinnedResponse(id) : undefined;
      if (pinned === undefined || typeof id !== "string") return;
      await storedResponse(request, reply, gateway, metrics, pinned.group, pinned.replica, id);
      return reply;
    }
    if (!PROXIED_ROUTES.has(path)) return;
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) return;
    const model = (body as { model?: unknown }).model;
    const group = typeof model === "string" ? gateway.group(model) : undefined;
    if (group === undefined) return;
    const handled = await new ProxiedRequest(
      request,
      reply,
      gateway,
      metrics,
      path,
      body as Record<string, unknown>,
    ).run(group);
    if (handled) return reply;
  });
}

type Outcome = { kind: "answered" } | { kind: "retry"; error: ApiError };

class ProxiedRequest {
  private readonly abort = new AbortController();
  private readonly stream: boolean;
  private readonly includeUsage: boolean;
  /** POST /v1/responses: named events, response ids pinned to their replica. */
  private readonly responses: boolean;
  private readonly session: string | null;
  private readonly text: string;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly gateway: Gateway,
    private readonly metrics: GatewayMetrics | null,
    private readonly path: string,
    private readonly body: Record<string, unknown>,
  ) {
    this.stream = body.stream === true;
    this.responses = path === "/v1/responses";
    const options = body.stream_options;
    this.includeUsage =
      this.stream &&
      options !== null &&
      typeof options === "object" &&
      (options as Record<string, unknown>).include_usage === true;
    const user = body.user;
    const header = request.headers["x-session-id"];
    this.session =
      typeof user === "string" && user !== ""
        ? `user:${user}`
        : typeof header === "string" && header !== ""
          ? `session:${header}`
          : null;
    this.text = promptText(path, body);
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) this.abort.abort(new Error("client went away"));
    });
    const stop = request.stopSignal;
    if (stop?.aborted) this.abort.abort(stop.reason);
    else stop?.addEventListener("abort", () => this.abort.abort(stop.reason), { once: true });
  }

  /** True when the request was answered here; false when a local fallback model takes it. */
  async run(primary: UpstreamGroup): Promise<boolean> {
    this.request.facts.stream = this.stream;
    const previous = this.body.previous_response_id;
    const pinned =
      this.responses && typeof previous === "string"
        ? this.gateway.pinnedResponse(previous, primary.config.id)
        : undefined;
    if (pinned !== undefined) {
      // Only that replica has the conversation: no other replica, no fallback.
      this.metrics?.matchRatio.observe(labels(pinned.group, pinned.replica), 1);
      const outcome = await this.attempt(pinned.group, pinned.replica);
      if (outcome.kind === "retry") {
        if (this.abort.signal.aborted) return this.stopped();
        this.send(outcome.error);
      }
      return true;
    }
    let lastError: ApiError | null = null;
    let attempts = 0;
    for (const modelId of [primary.config.id, ...primary.config.fallbacks]) {
      const group = this.gateway.group(modelId);
      if (group === undefined) {
        // A local model: its route answers, as if the client had asked for it.
        this.body.model = modelId;
        return false;
      }
      const tried = new Set<Replica>();
      for (let k = 0; k <= group.config.retries; k++) {
        const choice = group.router.choose(this.text, this.session, tried, await this.probe(group, tried));
        if (choice === null) break;
        tried.add(choice.replica);
        if (attempts > 0 && !(await this.backoff(attempts))) return this.stopped();
        attempts++;
        this.metrics?.matchRatio.observe(labels(group, choice.replica), choice.matchRatio);
        const outcome = await this.attempt(group, choice.replica);
        if (outcome.kind === "answered") return true;
        lastError = outcome.error;
        if (this.abort.signal.aborted) return this.stopped();
        this.request.log.warn(
          { replica: choice.replica.config.name, status: outcome.error.status },
          `gateway: ${choice.replica.config.name} failed (${outcome.error.message}); trying elsewhere`,
        );
      }
    }
    const error =
      lastError ??
      serviceUnavailable(`No replica of the model \`${primary.config.id}\` is available; retry shortly.`, 1);
    this.send(error);
    return true;
  }

  /** cache_aware over lavash replicas: their exact cached shares of the prompt (see cache-probe.ts). */
  private probe(group: UpstreamGroup, tried: ReadonlySet<Replica>): Promise<ProbedRatios> | ProbedRatios {
    if (!PROBED_ROUTES.has(this.path)) return new Map();
    const targets = group.router.probeTargets(this.session, tried);
    if (targets.length === 0) return new Map();
    return probeCaches(group, targets, this.body, this.abort.signal, this.metrics);
  }

  private async attempt(group: UpstreamGroup, replica: Replica): Promise<Outcome> {
    const { config, health } = replica;
    const l = labels(group, replica);
    const upstreamBody: Record<string, unknown> = { ...this.body, model: config.model };
    // Usage is always asked for, so that include_usage holds whatever the upstream does by default;
    // the reframer drops it when the client did not ask.
    if (this.stream && !this.responses)
      upstreamBody.stream_options = { ...asObject(this.body.stream_options), include_usage: true };
    replica.inFlight++;
    health.begin();
    const started = performance.now();
    let status = 0;
    try {
      let sent: Awaited<ReturnType<typeof postUpstream>>;
      try {
        sent = await postUpstream(
          config,
          this.path,
          upstreamBody,
          this.abort.signal,
          group.config.timeoutSeconds * 1000,
        );
      } catch (error) {
        if (!(error instanceof UpstreamUnreachable)) {
          health.release();
          return { kind: "retry", error: asApiError(error) };
        }
        health.failure();
        this.metrics?.errors.inc({ ...l, kind: error.kind });
        return {
          kind: "retry",
          error: new ApiError(
            error.kind === "timeout" ? 504 : 502,
            `The upstream ${config.name} did not answer: ${error.message}`,
            {
              type: "server_error",
              code: error.kind === "timeout" ? "upstream_timeout" : "upstream_unreachable",
            },
          ),
        };
      }
      const { response } = sent;
      status = response.status;
      if (!response.ok) {
        sent.clearTimeout();
        const text = await response.text().catch(() => "");
        const retryAfter = response.headers.get("retry-after");
        const error = upstreamError(response.status, text, retryAfter, config.name);
        if (response.status === 429) {
          health.throttle(retryAfterMs(retryAfter) ?? DEFAULT_THROTTLE_MS);
          health.release();
          this.metrics?.errors.inc({ ...l, kind: "status_429" });
          return { kind: "retry", error };
        }
        if (response.status >= 500) {
          health.failure();
          this.metrics?.errors.inc({ ...l, kind: "status_5xx" });
          return { kind: "retry", error };
        }
        health.success();
        this.send(error);
        return { kind: "answered" };
      }
      if (!this.stream) {
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          if (this.abort.signal.aborted) throw error;
          health.failure();
          this.metrics?.errors.inc({ ...l, kind: "stream" });
          return { kind: "retry", error: brokenUpstream(config.name, error) };
        } finally {
          sent.clearTimeout();
        }
        this.metrics?.firstByte.observe(l, (performance.now() - started) / 1000);
        health.success();
        this.sendJson(group, replica, response.status, text);
        return { kind: "answered" };
      }
      sent.clearTimeout();
      this.metrics?.firstByte.observe(l, (performance.now() - started) / 1000);
      return await this.relayStream(group, replica, response);
    } catch (error) {
      health.release();
      return { kind: "retry", error: asApiError(error) };
    } finally {
      replica.inFlight--;
      this.metrics?.requests.inc({ ...l, status: String(status) });
      this.metrics?.duration.observe(l, (performance.now() - started) / 1000);
    }
  }

  /** Reads the upstream's events and writes lavash's; opens the client's stream at the first chunk. */
  private async relayStream(group: UpstreamGroup, replica: Replica, response: Response): Promise<Outcome> {
    const { config, health } = replica;
    const parser = new SseParser();
    const options = { includeUsage: this.includeUsage, model: group.config.id, replica: config.name };
    const events = this.responses ? new ResponseEventReframer(options) : null;
    const reframer: StreamReframer = events ?? new ChunkReframer(options);
    const decoder = new TextDecoder();
    let sse: SseStream | null = null;
    const open = (): SseStream => {
      if (sse === null) {
        this.reply.hijack();
        sse = new SseStream(this.reply.raw, events === null ? {} : { format: responseEventFormat(events) });
        if (events?.responseId) this.gateway.pinResponse(events.responseId, group.config.id, replica);
        sse.open({ "x-request-id": this.request.id, "x-lavash-replica": config.name });
        this.request.facts.model = group.config.id;
      }
      return sse;
    };
    // Returns true when the response is finished (done or error).
    const apply = async (step: ReturnType<ChunkReframer["event"]>): Promise<boolean> => {
      if (step.kind === "error") {
        if (sse === null) throw step.error; // before the first byte: another replica may do better
        await sse.error(step.error);
        return true;
      }
      if (step.chunks.length > 0) await open().sendAll(step.chunks);
      if (step.kind === "done") {
        open().done();
        return true;
      }
      return false;
    };
    try {
      let finished = false;
      if (response.body === null) throw new Error("the upstream answered without a body");
      for await (const piece of response.body) {
        for (const ev of parser.feed(decoder.decode(piece as Uint8Array, { stream: true }))) {
          if (await apply(reframer.event(ev))) finished = true;
          if (finished) break;
        }
        if (finished || (sse as SseStream | null)?.closed) break;
      }
      if (!finished) {
        for (const ev of [...parser.feed(decoder.decode()), ...parser.end()])
          if (await apply(reframer.event(ev))) break;
        await apply(reframer.end());
      }
      this.recordUsage(reframer.usage);
      if (events?.responseId) this.gateway.pinResponse(events.responseId, group.config.id, replica);
      health.success();
      return { kind: "answered" };
    } catch (error) {
      // The client went away, or the server stopped the request.
      if (this.abort.signal.aborted) {
        health.release();
        const s = sse as SseStream | null;
        if (s !== null) {
          const reason = this.abort.signal.reason;
          if (reason instanceof ApiError) await s.error(reason);
          else s.end();
          return { kind: "answered" };
        }
        throw error;
      }
      health.failure();
      this.metrics?.errors.inc({ ...labels(group, replica), kind: "stream" });
      const apiError = error instanceof ApiError ? error : brokenUpstream(config.name, error);
      const s = sse as SseStream | null;
      if (s === null) return { kind: "retry", error: apiError };
      await s.error(apiError);
      return { kind: "answered" };
    }
  }

  private sendJson(group: UpstreamGroup, replica: Replica, status: number, text: string): void {
    this.request.facts.model = group.config.id;
    let payload: unknown = text;
    try {
      const value = JSON.parse(text) as unknown;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const object = value as Record<string, unknown>;
        if ("model" in object) object.model = group.config.id;
        const usage = asObject(object.usage);
        this.recordUsage(this.responses && usage !== null ? responsesUsage(usage) : (usage as Usage | null));
        if (this.responses && status < 300 && typeof object.id === "string")
          this.gateway.pinResponse(object.id, group.config.id, replica);
      }
      payload = value;
    } catch {
      // Not JSON: passed on as the upstream wrote it.
    }
    void this.reply
      .status(status)
      .header("x-lavash-replica", replica.config.name)
      .header("content-type", "application/json")
      .send(typeof payload === "string" ? payload : JSON.stringify(payload));
  }

  private send(error: ApiError): void {
    if (this.reply.sent || this.reply.raw.headersSent) return;
    void this.reply.status(error.status).headers(error.headers).send(toErrorBody(error));
  }

  private recordUsage(usage: Usage | null): void {
    if (usage === null) return;
    const facts = this.request.facts;
    if (typeof usage.prompt_tokens === "number") facts.promptTokens = usage.prompt_tokens;
    if (typeof usage.completion_tokens === "number") facts.completionTokens = usage.completion_tokens;
    const cached = usage.prompt_tokens_details?.cached_tokens;
    if (typeof cached === "number") facts.cachedPromptTokens = cached;
  }

  /** The request was stopped before anything was written: its reason is the answer. */
  private stopped(): boolean {
    const reason = this.abort.signal.reason;
    if (reason instanceof ApiError) this.send(reason);
    else if (!this.reply.sent) this.reply.hijack(); // the client is gone: nothing to answer
    return true;
  }

  /** Waits before attempt `n` (n ≥ 1); false when the request was stopped meanwhile. */
  private backoff(n: number): Promise<boolean> {
    const ms = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
    const signal = this.abort.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function labels(group: UpstreamGroup, replica: Replica): { model: string; replica: string } {
  return { model: group.config.id, replica: replica.config.name };
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(502, `The upstream failed: ${(error as Error)?.message ?? String(error)}`, {
    type: "server_error",
    code: "upstream_error",
    cause: error,
  });
}

function brokenUpstream(replica: string, error: unknown): ApiError {
  return new ApiError(
    502,
    `The upstream ${replica} broke off its answer: ${(error as Error)?.message ?? String(error)}`,
    {
      type: "server_error",
      code: "upstream_error",
      cause: error,
    },
  );
}

/** How the gateway writes a Responses API stream: named events, no [DONE], OpenAI's error event. */
function responseEventFormat(events: ResponseEventReframer) {
  return {
    eventName: (data: unknown) => (data as { type?: string }).type,
    done: false,
    errorEvent: (err: ApiError) => {
      const error = { message: err.message, type: err.type, param: err.param, code: err.code };
      return {
        type: "error",
        sequence_number: ++events.lastSequence,
        code: err.code,
        message: err.message,
        param: err.param,
        error,
      };
    },
  };
}

/** GET or DELETE /v1/responses/{id}[/input_items] on the replica that produced `id` (no retries: only it has it). */
async function storedResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  gateway: Gateway,
  metrics: GatewayMetrics | null,
  group: UpstreamGroup,
  replica: Replica,
  id: string,
): Promise<void> {
  const { config } = replica;
  const l = labels(group, replica);
  const abort = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) abort.abort(new Error("client went away"));
  });
  let status = 0;
  const started = performance.now();
  replica.inFlight++;
  try {
    const sent = await requestUpstream(
      config,
      request.method,
      request.url,
      undefined,
      abort.signal,
      group.config.timeoutSeconds * 1000,
    );
    const text = await sent.response.text().finally(() => sent.clearTimeout());
    status = sent.response.status;
    if (!sent.response.ok) {
      if (status === 404) gateway.unpinResponse(id);
      const error = upstreamError(status, text, sent.response.headers.get("retry-after"), config.name);
      void reply.status(error.status).headers(error.headers).send(toErrorBody(error));
      return;
    }
    if (request.method === "DELETE") gateway.unpinResponse(id);
    let payload: unknown = text;
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      if (value !== null && typeof value === "object" && value.object === "response" && "model" in value)
        value.model = group.config.id;
      payload = JSON.stringify(value);
    } catch {
      // Not JSON: passed on as it came.
    }
    void reply
      .status(status)
      .header("x-lavash-replica", config.name)
      .header("content-type", "application/json")
      .send(payload);
  } catch (error) {
    if (abort.signal.aborted) {
      if (!reply.sent) reply.hijack();
      return;
    }
    const e =
      error instanceof UpstreamUnreachable
        ? new ApiError(
            502,
            `The upstream ${config.name}, which holds response '${id}', did not answer: ${error.message}`,
            {
              type: "server_error",
              code: error.kind === "timeout" ? "upstream_timeout" : "upstream_unreachable",
            },
          )
        : asApiError(error);
    void reply.status(e.status).headers(e.headers).send(toErrorBody(e));
  } finally {
    replica.inFlight--;
    metrics?.requests.inc({ ...l, status: String(status) });
    metrics?.duration.observe(l, (performance.now() - started) / 1000);
  }
}
