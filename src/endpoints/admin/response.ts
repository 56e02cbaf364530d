// The bodies of POST /models/load and POST /models/unload: the model and what became of it.

export interface ModelStateBody {
  id: string;
  object: "model";
  status: "loaded" | "unloaded" | "removed";
}

export function buildModelState(id: string, status: ModelStateBody["status"]): ModelStateBody {
  return { id, object: "model", status };
}
