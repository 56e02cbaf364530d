import type { FastifyInstance } from "fastify";
import { modelNotFound } from "../shared/errors.js";
import { buildModel, buildModelList, type ModelDescription } from "./response.js";
import type { Engine } from "../../engine/types.js";
import type { Gateway } from "../../gateway/gateway.js";

/** `gateway`: its upstream models are listed after the local ones. */
export function registerModels(app: FastifyInstance, engine: Engine, gateway?: Gateway | null): void {
  const all = (): ModelDescription[] => [
    ...engine.listModels(),
    ...(gateway?.models ?? []).map((g) => ({ id: g.config.id, created: gateway!.created, ownedBy: "lavash-gateway" })),
  ];
  app.get("/v1/models", async () => buildModelList(all()));
  // The wildcard takes ids with a raw slash (openai v4 sends `org/name` unencoded); v5+ encode
  // it as %2F, which the router decodes.
  app.get<{ Params: { "*": string } }>("/v1/models/*", async (request) => {
    const id = request.params["*"];
    const model = all().find((m) => m.id === id);
    if (!model) throw modelNotFound(id);
    return buildModel(model);
  });
}
