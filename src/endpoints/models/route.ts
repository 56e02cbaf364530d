import type { FastifyInstance } from "fastify";
import { modelNotFound } from "../shared/errors.js";
import { buildModel, buildModelList } from "./response.js";
import type { Engine } from "../../engine/types.js";

export function registerModels(app: FastifyInstance, engine: Engine): void {
  app.get("/v1/models", async () => buildModelList(engine.listModels()));
  // The wildcard takes ids with a raw slash (openai v4 sends `org/name` unencoded); v5+ encode
  // it as %2F, which the router decodes.
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = request.params["*"];
    const model = engine.getModel(id);
    if (!model) throw modelNotFound(id);
    return buildModel(model);
  });
}
