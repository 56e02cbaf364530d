// POST /models/load and /models/unload, wire → engine: the serve-flag names of a model's settings
// in the engine's terms, and load failures as the caller's to fix.
import { EngineError, type EngineField } from "../../engine/errors.js";
import type { ModelSource } from "../../engine/types.js";
import { type EngineErrorNames, toApiError } from "../shared/engine-errors.js";
import { ApiError, invalidRequest } from "../shared/errors.js";
import type { LoadModelRequest } from "./schema.js";

export function modelToLoad(body: LoadModelRequest): Omit<ModelSource, "source"> & { source?: string } {
  return {
    id: body.model,
    ...(body.source != null ? { source: body.source } : {}),
    ...(body.ctx_size != null ? { contextSize: body.ctx_size } : {}),
    ...(body.parallel != null ? { parallel: body.parallel } : {}),
    ...(body.threads != null ? { threads: body.threads } : {}),
    ...(body.gpu_layers != null ? { gpuLayers: body.gpu_layers } : {}),
  };
}

export const ADMIN_ERROR_NAMES: EngineErrorNames = {
  param: (field: EngineField) => (field === "model" || field === "source" ? field : null),
};

/**
 * A model that cannot load (no such file, not GGUF, download failed, does not fit) is the
 * caller's to fix: 400 with the reason. Anything unexpected from llama.cpp is reported the same
 * way, as it most likely comes from the file too; a 500 would send clients retrying.
 */
export function loadError(error: unknown, model: string): ApiError {
  if (error instanceof EngineError && error.kind === "load_failed")
    return invalidRequest(
      capitalized(error.message),
      (error.field && ADMIN_ERROR_NAMES.param(error.field)) ?? "source",
      "model_load_failed",
    );
  const internal = !(error instanceof ApiError) && (!(error instanceof EngineError) || error.kind === "internal");
  if (!internal) return toApiError(error, model, ADMIN_ERROR_NAMES);
  return invalidRequest(
    `The model '${model}' could not be loaded: ${(error as Error).message}`,
    "source",
    "model_load_failed",
  );
}

const capitalized = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
