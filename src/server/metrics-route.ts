import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

/** GET /metrics: Prometheus text exposition format. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get("/metrics", async (_request, reply) =>
    reply.header("content-type", registry.contentType).send(await registry.metrics()),
  );
}
