// POST /models/load and POST /models/unload: change which models are in memory while serving.
// Behind --admin-key (auth.ts); answered 501 by engines that cannot load at run time.
import type { FastifyInstance } from "fastify";
import { ApiError, invalidRequest } from "../shared/errors.js";
import { buildModelState, parseLoadModelRequest, parseUnloadModelRequest } from "./schema.js";
import { buildModel } from "../models/response.js";
import { EngineError } from "../../engine/errors.js";
import type { Engine } from "../../engine/types.js";
import { toApiError } from "../shared/engine-errors.js";

export function registerAdmin(app: FastifyInstance, engine: Engine): void {
  app.post("/models/load", async (request) => {
    const body = parseLoadModelRequest(request.body);
    if (!engine.loadModel) throw notImplemented();
    try {
      const info = await engine.loadModel({
        id: body.model,
        ...(body.source != null ? { source: body.source } : {}),
        ...(body.ctx_size != null ? { contextSize: body.ctx_size } : {}),
        ...(body.parallel != null ? { parallel: body.parallel } : {}),
        ...(body.threads != null ? { threads: body.threads } : {}),
        ...(body.gpu_layers != null ? { gpuLayers: body.gpu_layers } : {}),
      });
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
      throw toApiError(error, body.model);
    }
    return buildModelState(body.model, body.forget === true ? "removed" : "unloaded");
  });
}

/**
 * A model that cannot load (no such file, not GGUF, download failed, does not fit) is the
 * caller's to fix: 400 with the reason. Anything unexpected from llama.cpp is reported the same
 * way, as it most likely comes from the file too; a 500 would send clients retrying.
 */
function loadError(error: unknown, model: string): ApiError {
  if (error instanceof EngineError && error.kind === "load_failed")
    return invalidRequest(capitalized(error.message), error.param ?? "source", "model_load_failed");
  const internal = !(error instanceof ApiError) && (!(error instanceof EngineError) || error.kind === "internal");
  if (!internal) return toApiError(error, model);
  return invalidRequest(
    `The model '${model}' could not be loaded: ${(error as Error).message}`,
    "source",
    "model_load_failed",
  );
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

function notImplemented(): ApiError {
  return new ApiError(501, "This engine cannot load or unload models while serving.", {
    type: "invalid_request_error",
    code: "not_implemented",
  });
}
