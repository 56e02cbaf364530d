import type { FastifyInstance } from "fastify";
import type { Engine } from "../../engine/types.js";

/**
 * GET /v1/status (lavash extension): each sequence's state, the queue, and the scheduler's
 * counters, including mean sequences per decode (how well concurrent requests share decodes).
 */
export function registerStatus(app: FastifyInstance, engine: Engine): void {
  app.get("/v1/status", async () => {
    const status = engine.status();
    const { decodeSteps, sequencesDecoded } = status.stats;
    return { ...status, meanSequencesPerDecode: decodeSteps === 0 ? 0 : sequencesDecoded / decodeSteps };
  });
}
