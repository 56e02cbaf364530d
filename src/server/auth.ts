// API keys (--api-key): every route but the open ones needs `Authorization: Bearer <key>`.
// Keys are compared as SHA-256 digests with timingSafeEqual, over every configured key, so that
// neither a key's length nor which key nearly matched shows in the response time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ApiError, invalidApiKey, toErrorBody } from "../endpoints/shared/errors.js";

function adminDisabled(): ApiError {
  return new ApiError(403, "The admin endpoints are off: start lavash serve with --admin-key KEY to use them.", {
    type: "invalid_request_error",
    code: "admin_disabled",
  });
}

export interface AuthOptions {
  /** No keys: the server is open. */
  keys: readonly string[];
  /** Keys for the admin routes (model load/unload); none: those routes are refused. */
  adminKeys?: readonly string[];
  /** /health and /metrics stay open (for probes and scrapers) unless these say otherwise. */
  protectHealth?: boolean;
  protectMetrics?: boolean;
}

/** Routes that change what the server serves: only an admin key opens them. */
export const ADMIN_ROUTES: ReadonlySet<string> = new Set(["/models/load", "/models/unload"]);

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const digests = options.keys.map(sha256);
  const adminDigests = (options.adminKeys ?? []).map(sha256);
  const open = new Set<string>();
  if (!options.protectHealth) open.add("/health");
  if (!options.protectMetrics) open.add("/metrics");
  app.addHook("onRequest", (request, reply, done) => {
    // The route pattern, not the URL: `/health?x` and HEAD /health are the same route.
    const route = request.routeOptions.url ?? "";
    const admin = ADMIN_ROUTES.has(route);
    if (!admin && (digests.length === 0 || open.has(route))) return done();
    let error: ApiError;
    if (admin && adminDigests.length === 0) error = adminDisabled();
    else {
      const token = bearerToken(request.headers.authorization);
      if (token !== null && matchesAny(sha256(token), admin ? adminDigests : digests)) return done();
      error = invalidApiKey(token !== null);
    }
    void reply.status(error.status).headers(error.headers).send(toErrorBody(error));
  });
}

function bearerToken(header: string | undefined): string | null {
  const match = header === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function matchesAny(digest: Buffer, digests: readonly Buffer[]): boolean {
  let found = false;
  for (const d of digests) found = timingSafeEqual(digest, d) || found;
  return found;
}
