// POST /models/load and POST /models/unload: change which models are in memory while serving.
// Behind --admin-key (auth.ts); answered 501 by engines that cannot load at run time.
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../engine/types.js";
import { buildModel } from "../models/response.js";
import { toApiError } from "../shared/engine-errors.js";
import { ApiError } from "../shared/errors.js";
import { ADMIN_ERROR_NAMES, loadError, modelToLoad } from "./mapping.js";
import { buildModelState } from "./response.js";
import { parseLoadModelRequest, parseUnloadModelRequest } from "./schema.js";

export function registerAdmin(app: FastifyInstance, engine: Engine): void {
  app.post("/models/load", async (request) => {
    const body = parseLoadModelRequest(request.body);
    if (!engine.loadModel) throw notImplemented();
    try {
      const info = await engine.loadModel(modelToLoad(body));
      return { ...buildModel(info), ...buildModelState(info.id, "loaded") };
    } catch (error) {
      throw loadError(error, body.model);
    }
  });

  app.post("/models/unload", async (request) => {
    const body = parseUnloadModelRequest(request.body);
    if (!engine.unloadModel) throw notImplemented();
    try {
      await engine.unloadModel(body.model, body.forget === true);
    } catch (error) {
      throw toApiError(error, body.model, ADMIN_ERROR_NAMES);
    }
    return buildModelState(body.model, body.forget === true ? "removed" : "unloaded");
  });
}

function notImplemented(): ApiError {
  return new ApiError(501, "This engine cannot load or unload models while serving.", {
    type: "invalid_request_error",
    code: "not_implemented",
  });
}
