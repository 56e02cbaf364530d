// The Responses API: POST /v1/responses (parse with schema.ts, rebuild the conversation with
// input-items.ts, map onto the engine with mapping.ts, run and write with shared/respond.ts in
// this endpoint's response and events, response.ts), and the stored responses: GET and DELETE
// /v1/responses/{id}, GET /v1/responses/{id}/input_items.
import type { FastifyInstance } from "fastify";
import type { Engine } from "../../engine/types.js";
import type { ResponseStore } from "../../storage/response-store.js";
import { ApiError, invalidRequest } from "../shared/errors.js";
import type { ItsServerLimits } from "../shared/its/plan.js";
import { respond } from "../shared/respond.js";
import { conversationHistory, NO_STORE_HINT, type StoredItem, storedInputItems } from "./input-items.js";
import { responsesGeneration } from "./mapping.js";
import { ResponseBuilder } from "./response.js";
import { parseInputItemsQuery, parseResponseRequest } from "./schema.js";

export function registerResponses(
  app: FastifyInstance,
  engine: Engine,
  limits: ItsServerLimits,
  store: ResponseStore | null,
): void {
  app.post("/v1/responses", async (request, reply) => {
    const body = parseResponseRequest(request.body);
    const history = conversationHistory(store, body.previous_response_id);
    const input = storedInputItems(body.input);
    const generation = responsesGeneration(body, history, input, limits);
    const keep = store !== null && body.store !== false;
    const shape = new ResponseBuilder(body, {
      topLogprobs: generation.topLogprobs,
      ...(keep
        ? {
            onFinished: (response) => {
              try {
                store.save({
                  id: response.id,
                  createdAt: response.created_at,
                  previousResponseId: response.previous_response_id,
                  response: response as unknown as Record<string, unknown>,
                  inputItems: input,
                });
              } catch (error) {
                // The answer is still good: the client gets it, the log says it was not kept.
                request.log.error({ err: error }, `response ${response.id} could not be stored`);
              }
            },
          }
        : {}),
    });
    return respond(request, reply, engine, generation.plan, shape);
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>("/v1/responses/:id", async (request) => {
    const q = request.query ?? {};
    if (q.stream === "true" || q.stream === true)
      throw invalidRequest(
        "lavash does not support 'stream' when retrieving a response: responses are stored once finished, retrieve it without stream.",
        "stream",
        "unsupported_parameter",
      );
    return storedResponse(store, request.params.id).response;
  });

  app.delete<{ Params: { id: string } }>("/v1/responses/:id", async (request) => {
    const id = request.params.id;
    if (store === null || !store.delete(id)) throw responseNotFound(id, store);
    return { id, object: "response", deleted: true };
  });

  app.get<{ Params: { id: string } }>("/v1/responses/:id/input_items", async (request) => {
    const query = parseInputItemsQuery(request.query);
    const items = storedResponse(store, request.params.id).inputItems as StoredItem[];
    return inputItemsPage(items, query);
  });
}

function storedResponse(store: ResponseStore | null, id: string) {
  const stored = store?.get(id) ?? null;
  if (stored === null) throw responseNotFound(id, store);
  return stored;
}

/** OpenAI's 404 for an id it does not keep. */
export function responseNotFound(id: string, store: ResponseStore | null): ApiError {
  return new ApiError(404, `Response with id '${id}' not found${store === null ? `: ${NO_STORE_HINT}` : ""}.`, {
    type: "invalid_request_error",
    param: "response_id",
    code: null,
  });
}

export interface ItemPage {
  object: "list";
  data: StoredItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * One page of a response's input items: `order` desc (OpenAI's default) lists the last item
 * first; `after`/`before` are item ids (cursors) in that order, `limit` 1..100 (default 20).
 */
export function inputItemsPage(
  items: readonly StoredItem[],
  query: { limit?: number; order?: "asc" | "desc"; after?: string; before?: string },
): ItemPage {
  let list = query.order === "asc" ? [...items] : [...items].reverse();
  const cursor = (id: string, param: string): number => {
    const at = list.findIndex((item) => item.id === id);
    if (at < 0)
      throw invalidRequest(
        `Invalid '${param}': no input item with id '${id}' in this response.`,
        param,
        "invalid_value",
      );
    return at;
  };
  if (query.after !== undefined) list = list.slice(cursor(query.after, "after") + 1);
  let end = list.length;
  if (query.before !== undefined) end = cursor(query.before, "before");
  const limit = query.limit ?? 20;
  // With only `before`, the page is the `limit` items right before it.
  const start = query.before !== undefined && query.after === undefined ? Math.max(0, end - limit) : 0;
  const data = list.slice(start, Math.min(end, start + limit));
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + data.length < end,
  };
}
