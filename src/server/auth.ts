// API keys (--api-key): every route but the open ones needs `Authorization: Bearer <key>`.
// Keys are compared as SHA-256 digests with timingSafeEqual, over every configured key, so that
// neither a key's length nor which key nearly matched shows in the response time. Each key has a
// name (what /metrics shows) and may have limits (rate-limit.ts): `keys` are named api-key-1, ...
// and take the default limits; `clients` (--config's `keys`) are named and may set their own.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { ApiError, invalidApiKey, toErrorBody } from "../endpoints/shared/errors.js";
import { type ClientKey, type KeyLimits, registerRateLimits } from "./rate-limit.js";

function adminDisabled(): ApiError {
  return new ApiError(403, "The admin endpoints are off: start lavash serve with --admin-key KEY to use them.", {
    type: "invalid_request_error",
    code: "admin_disabled",
  });
}

export interface AuthOptions {
  /** No keys (and no clients): the server is open. Named api-key-1, api-key-2, ... in /metrics. */
  keys: readonly string[];
  /** Named keys with their own limits (absent limits: the defaults). A key here and in `keys` is this one. */
  clients?: readonly ClientKeyOptions[];
  /** Limits of every key that sets none of its own; absent or 0: none. */
  defaultLimits?: Partial<KeyLimits>;
  /** Keys for the admin routes (model load/unload); none: those routes are refused. */
  adminKeys?: readonly string[];
  /** /health and /metrics stay open (for probes and scrapers) unless these say otherwise. */
  protectHealth?: boolean;
  protectMetrics?: boolean;
}

/** Routes that change what the server serves: only an admin key opens them. */
export const ADMIN_ROUTES: ReadonlySet<string> = new Set(["/models/load", "/models/unload"]);

export interface ClientKeyOptions {
  key: string;
  name: string;
  rpm?: number;
  tpm?: number;
}

/** Every key with its name and limits resolved. */
export function clientKeys(options: AuthOptions): ClientKey[] {
  const rpm = options.defaultLimits?.rpm ?? 0;
  const tpm = options.defaultLimits?.tpm ?? 0;
  const named = (options.clients ?? []).map((c) => ({
    key: c.key,
    name: c.name,
    rpm: c.rpm ?? rpm,
    tpm: c.tpm ?? tpm,
  }));
  const taken = new Set(named.map((c) => c.key));
  const plain = options.keys
    .map((key, i) => ({ key, name: `api-key-${i + 1}`, rpm, tpm }))
    .filter((c) => !taken.has(c.key));
  return [...named, ...plain];
}

export function registerAuth(app: FastifyInstance, options: AuthOptions, registry: Registry | null = null): void {
  const clients = clientKeys(options);
  const digests = clients.map((c) => sha256(c.key));
  const adminDigests = (options.adminKeys ?? []).map(sha256);
  const open = new Set<string>();
  if (!options.protectHealth) open.add("/health");
  if (!options.protectMetrics) open.add("/metrics");
  app.decorateRequest("clientKey", null);
  app.addHook("onRequest", (request, reply, done) => {
    request.clientKey = null;
    // The route pattern, not the URL: `/health?x` and HEAD /health are the same route.
    const route = request.routeOptions.url ?? "";
    const admin = ADMIN_ROUTES.has(route);
    if (!admin && (digests.length === 0 || open.has(route))) return done();
    let error: ApiError;
    if (admin && adminDigests.length === 0) error = adminDisabled();
    else {
      const token = bearerToken(request.headers.authorization);
      const found = token === null ? -1 : matchIndex(sha256(token), admin ? adminDigests : digests);
      if (found >= 0) {
        if (!admin) request.clientKey = clients[found]!;
        return done();
      }
      error = invalidApiKey(token !== null);
    }
    void reply.status(error.status).headers(error.headers).send(toErrorBody(error));
  });
  registerRateLimits(app, clients, registry);
}

function bearerToken(header: string | undefined): string | null {
  const match = header === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The index of the digest that matches, or -1; every digest is compared whatever matched. */
function matchIndex(digest: Buffer, digests: readonly Buffer[]): number {
  let found = -1;
  digests.forEach((d, i) => {
    if (timingSafeEqual(digest, d) && found < 0) found = i;
  });
  return found;
}
