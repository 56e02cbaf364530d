// Per-key request and token limits (rpm, tpm) on the model routes, for local and upstream models
// alike. Each limit is a token bucket refilled continuously: `rpm` requests (or `tpm` tokens) of
// capacity, refilled at rpm/60 per second, so a key may burst its whole minute and then goes on
// at the steady rate (OpenAI's limits behave so too).
//
// Tokens are prompt + completion tokens as the usage counts them. A request in flight holds a
// reservation, taken when it is admitted: its prompt's characters / 4 plus its output limit
// (max_tokens, max_completion_tokens or max_output_tokens, times n) when it gives one. When it
// ends, the reservation is settled to the usage it reported (the difference is given back or
// taken); a request that ends without usage (the client went away, a stream broke) keeps its
// reservation, and one answered with an error before generating costs its prompt tokens if known,
// else nothing. A request is admitted while the key's token bucket is above zero, so one request
// may overdraw it; the next waits until it has refilled above zero.
//
// Refused requests get OpenAI's 429 (`rate_limit_exceeded`, type `requests` or `tokens`) with
// Retry-After; answers to a limited key carry OpenAI's x-ratelimit-* headers.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import { ApiError, toErrorBody } from "../endpoints/shared/errors.js";
import { promptText } from "../gateway/prompt-text.js";
import { KeyUsageMetrics } from "./metrics.js";

/** The POST routes that run a model: counted and limited per key. */
export const LIMITED_ROUTES: ReadonlySet<string> = new Set([
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
]);

export interface KeyLimits {
  /** Requests per minute; 0: no limit. */
  rpm: number;
  /** Prompt + completion tokens per minute; 0: no limit. */
  tpm: number;
}

/** A client key: what /metrics calls it (never the key itself) and its limits. */
export interface ClientKey extends KeyLimits {
  key: string;
  name: string;
}

/** A bucket of `capacity` refilled at capacity per minute; the level may go below zero (tokens). */
export class TokenBucket {
  private level: number;
  private updated: number;
  private readonly perMs: number;

  constructor(
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.level = capacity;
    this.updated = now();
    this.perMs = capacity / 60_000;
  }

  /** What is in the bucket now. */
  get available(): number {
    const t = this.now();
    this.level = Math.min(this.capacity, this.level + (t - this.updated) * this.perMs);
    this.updated = t;
    return this.level;
  }

  /** Takes `n` (a negative `n` gives back); the level never exceeds the capacity. */
  take(n: number): void {
    this.level = Math.min(this.capacity, this.available - n);
  }

  /** Milliseconds until the bucket holds more than `level`. */
  msUntilAbove(level: number): number {
    const missing = level - this.available;
    return missing < 0 ? 0 : missing / this.perMs + 1;
  }

  /** Milliseconds until the bucket is full again (OpenAI's x-ratelimit-reset-*). */
  msUntilFull(): number {
    return (this.capacity - this.available) / this.perMs;
  }
}

/** One key's buckets. */
export class KeyLimiter {
  readonly requests: TokenBucket | null;
  readonly tokens: TokenBucket | null;

  constructor(
    readonly client: ClientKey,
    now: () => number = Date.now,
  ) {
    this.requests = client.rpm > 0 ? new TokenBucket(client.rpm, now) : null;
    this.tokens = client.tpm > 0 ? new TokenBucket(client.tpm, now) : null;
  }

  get limited(): boolean {
    return this.requests !== null || this.tokens !== null;
  }

  /** Admits a request reserving `reserve` tokens, or says which limit refused it and for how long. */
  admit(reserve: number): { ok: true } | { ok: false; limit: "requests" | "tokens"; retryAfterMs: number } {
    if (this.requests !== null && this.requests.available < 1)
      return { ok: false, limit: "requests", retryAfterMs: this.requests.msUntilAbove(1) };
    if (this.tokens !== null && this.tokens.available <= 0)
      return { ok: false, limit: "tokens", retryAfterMs: this.tokens.msUntilAbove(0) };
    this.requests?.take(1);
    this.tokens?.take(reserve);
    return { ok: true };
  }

  /** A request admitted with `reserved` tokens used `used`. */
  settle(reserved: number, used: number): void {
    this.tokens?.take(used - reserved);
  }

  /** OpenAI's x-ratelimit-* headers for the limits this key has. */
  headers(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [suffix, bucket] of [
      ["requests", this.requests],
      ["tokens", this.tokens],
    ] as const) {
      if (bucket === null) continue;
      out[`x-ratelimit-limit-${suffix}`] = String(bucket.capacity);
      out[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, Math.floor(bucket.available)));
      out[`x-ratelimit-reset-${suffix}`] = duration(bucket.msUntilFull());
    }
    return out;
  }
}

/** OpenAI's reset durations: `20ms`, `1.5s`, `6m0s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s * 1000) / 1000}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)}s`;
}

/** The tokens a request reserves while in flight (see the header comment). */
export function reservation(path: string, body: unknown): number {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return 0;
  const b = body as Record<string, unknown>;
  const prompt = Math.ceil(promptText(path, b).length / 4);
  const limit = [b.max_output_tokens, b.max_completion_tokens, b.max_tokens].find(
    (v): v is number => typeof v === "number" && v > 0,
  );
  const n = typeof b.n === "number" && b.n > 0 ? b.n : 1;
  return prompt + (limit === undefined ? 0 : limit * n);
}

declare module "fastify" {
  interface FastifyRequest {
    /** The client key the request was authenticated with; null on an open server or route. */
    clientKey: ClientKey | null;
  }
}

/**
 * The limits hook (a preHandler: it needs the body) and the per-key usage counters. Registered
 * by registerAuth, before the gateway's preHandler, so upstream models are limited too.
 */
export function registerRateLimits(
  app: FastifyInstance,
  clients: readonly ClientKey[],
  registry: Registry | null,
): void {
  if (clients.length === 0) return;
  const limiters = new Map(clients.map((c) => [c, new KeyLimiter(c)]));
  const metrics =
    registry === null
      ? null
      : new KeyUsageMetrics(
          registry,
          clients.map((c) => c.name),
        );
  app.addHook("preHandler", (request, reply, done) => {
    const client = request.clientKey;
    if (client === null || request.method !== "POST" || !LIMITED_ROUTES.has(request.routeOptions.url ?? ""))
      return done();
    const limiter = limiters.get(client);
    if (limiter === undefined) return done();
    const reserved = limiter.tokens === null ? 0 : reservation(request.routeOptions.url ?? "", request.body);
    const admitted = limiter.admit(reserved);
    if (!admitted.ok) {
      metrics?.limited.inc({ key: client.name, limit: admitted.limit });
      const error = rateLimitError(client, limiter, admitted.limit, reserved, admitted.retryAfterMs);
      setHeaders(reply, limiter.headers());
      void reply.status(error.status).headers(error.headers).send(toErrorBody(error));
      return;
    }
    metrics?.requests.inc({ key: client.name });
    // Set on the raw response: streams are written by hand (hijacked) and would lose reply.header().
    if (limiter.limited) setHeaders(reply, limiter.headers());
    reply.raw.once("close", () => {
      const used = settledTokens(request, reply, reserved);
      if (used !== null) limiter.settle(reserved, used);
      const { promptTokens, completionTokens } = request.facts;
      if (completionTokens !== undefined || request.routeOptions.url === "/v1/embeddings") {
        metrics?.promptTokens.inc({ key: client.name }, promptTokens ?? 0);
        metrics?.completionTokens.inc({ key: client.name }, completionTokens ?? 0);
      }
    });
    done();
  });
}

/** The tokens a finished request costs; null: it keeps its reservation. */
function settledTokens(request: FastifyRequest, reply: FastifyReply, reserved: number): number | null {
  const { promptTokens, completionTokens } = request.facts;
  const embeddings = request.routeOptions.url === "/v1/embeddings";
  if (completionTokens !== undefined || (embeddings && promptTokens !== undefined))
    return (promptTokens ?? 0) + (completionTokens ?? 0);
  if (reply.raw.statusCode >= 400) return promptTokens ?? 0;
  return Math.max(reserved, promptTokens ?? 0);
}

function setHeaders(reply: FastifyReply, headers: Record<string, string>): void {
  if (reply.raw.headersSent) return;
  for (const [name, value] of Object.entries(headers)) reply.raw.setHeader(name, value);
}

function rateLimitError(
  client: ClientKey,
  limiter: KeyLimiter,
  limit: "requests" | "tokens",
  reserved: number,
  retryAfterMs: number,
): ApiError {
  const seconds = retryAfterMs / 1000;
  const bucket = (limit === "requests" ? limiter.requests : limiter.tokens)!;
  const used = Math.max(0, Math.ceil(bucket.capacity - bucket.available));
  const what = limit === "requests" ? "requests per min (RPM)" : "tokens per min (TPM)";
  const wait = seconds < 1 ? `${Math.ceil(retryAfterMs)}ms` : `${Math.ceil(seconds)}s`;
  return new ApiError(
    429,
    `Rate limit reached for key '${client.name}' on ${what}: Limit ${bucket.capacity}, Used ${used}, Requested ${limit === "requests" ? 1 : reserved}. Please try again in ${wait}.`,
    {
      type: limit,
      code: "rate_limit_exceeded",
      headers: {
        "Retry-After": String(Math.max(1, Math.ceil(seconds))),
        "retry-after-ms": String(Math.ceil(retryAfterMs)),
      },
    },
  );
}
