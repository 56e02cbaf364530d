// Cross-origin access for browser clients (--cors-origin). Hand-written rather than
// @fastify/cors: the whole policy is a few headers, and the lockfile carries hand-added entries
// that an install could drop.
import type { FastifyInstance } from "fastify";

// What the OpenAI SDKs send, for a preflight that names no headers.
const sdkHeaders = [
  "authorization",
  "content-type",
  "openai-organization",
  "openai-project",
  ...[
    "lang",
    "package-version",
    "os",
    "arch",
    "runtime",
    "runtime-version",
    "retry-count",
    "timeout",
    "helper-method",
  ].map((h) => `x-stainless-${h}`),
].join(", ");

// What a browser client may read: the request id, when to retry, and the key's rate limits.
const EXPOSED_HEADERS = [
  "x-request-id",
  "retry-after",
  "retry-after-ms",
  ...["requests", "tokens"].flatMap((kind) =>
    ["limit", "remaining", "reset"].map((what) => `x-ratelimit-${what}-${kind}`),
  ),
].join(", ");

export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  app.addHook("onRequest", (request, reply, done) => {
    const origin = request.headers.origin;
    const preflight = request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    // Headers go on the raw response: streaming replies are hijacked and write their own head,
    // which keeps headers set there but not those set through `reply`.
    const res = reply.raw;
    if (!anyOrigin) res.setHeader("Vary", preflight ? "Origin, Access-Control-Request-Headers" : "Origin");
    const permitted = origin !== undefined && (anyOrigin || allowed.has(origin));
    if (permitted) res.setHeader("Access-Control-Allow-Origin", anyOrigin ? "*" : origin);
    if (!preflight) {
      if (permitted) res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS);
      return done();
    }
    // Answered here, before the API key check: browsers never send credentials on a preflight.
    // A refused origin gets no Allow headers, which is how a browser learns the answer is no.
    if (permitted) {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      // Echoing what was asked for keeps future SDK headers working without a release here.
      res.setHeader("Access-Control-Allow-Headers", request.headers["access-control-request-headers"] ?? sdkHeaders);
      res.setHeader("Access-Control-Max-Age", "600");
    }
    void reply.status(204).send();
  });
}
