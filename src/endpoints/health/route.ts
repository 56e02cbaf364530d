import type { FastifyInstance } from "fastify";
import { serviceUnavailable, toErrorBody } from "../shared/errors.js";
import type { Engine } from "../../engine/types.js";

/** GET /health: 200 once every model is loaded, 503 while loading (or after a failed load). */
export function registerHealth(app: FastifyInstance, engine: Engine): void {
  app.get("/health", async (_request, reply) => {
    if (engine.state === "ready") return { status: "ok" };
    const error =
      engine.state === "loading"
        ? serviceUnavailable("Loading model", 1)
        : serviceUnavailable("The model failed to load; see the server log.");
    return reply.status(503).headers(error.headers).send(toErrorBody(error));
  });
}
