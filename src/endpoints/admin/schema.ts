// POST /models/load and POST /models/unload (lavash admin endpoints, behind --admin-key): request
// schemas. Field names follow the serve flags (ctx_size ~ --ctx-size).
import { z } from "zod";
import { parseWith } from "../shared/validation.js";

export const loadModelRequestSchema = z.strictObject({
  /** The id clients will send as `model`. */
  model: z.string().min(1),
  /** builtin:<preset>, hf:owner/repo[:quant] or a .gguf path; absent: a model already configured. */
  source: z.string().min(1).nullish(),
  ctx_size: z.int().min(16).nullish(),
  parallel: z.int().min(1).max(256).nullish(),
  threads: z.int().min(1).nullish(),
  gpu_layers: z.int().min(0).nullish(),
});

export const unloadModelRequestSchema = z.strictObject({
  model: z.string().min(1),
  /** true: also stop serving it; false (default): its next request loads it again. */
  forget: z.boolean().nullish(),
});

export type LoadModelRequest = z.output<typeof loadModelRequestSchema>;
export type UnloadModelRequest = z.output<typeof unloadModelRequestSchema>;

export function parseLoadModelRequest(body: unknown): LoadModelRequest {
  return parseWith(loadModelRequestSchema, body);
}

export function parseUnloadModelRequest(body: unknown): UnloadModelRequest {
  return parseWith(unloadModelRequestSchema, body);
}
