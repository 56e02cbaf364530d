// GET /v1/models and GET /v1/models/{id} bodies.

/** Structurally the engine's ModelInfo, restated so the wire types do not depend on the engine. */
export interface ModelDescription {
  id: string;
  /** Unix seconds. */
  created: number;
  ownedBy: string;
}

export interface ModelObject {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: "list";
  data: ModelObject[];
}

export function buildModel(model: ModelDescription): ModelObject {
  return { id: model.id, object: "model", created: model.created, owned_by: model.ownedBy };
}

export function buildModelList(models: readonly ModelDescription[]): ModelList {
  return { object: "list", data: models.map(buildModel) };
}
