/**
 * Thrown for a schema the converter cannot enforce exactly. lavash never falls back to a looser
 * grammar: a request whose schema cannot be honoured must fail loudly, naming what to change.
 */
export class UnsupportedSchemaError extends Error {
  /** The JSON Schema keyword at fault, e.g. "not", "pattern", "$ref"; "schema" for a malformed schema. */
  readonly keyword: string;
  /** JSON Pointer (URI fragment form, "#/properties/a") of the schema object holding the keyword. */
  readonly path: string;

  constructor(keyword: string, path: string, detail: string) {
    super(`${detail} (keyword "${keyword}" at ${path})`);
    this.name = "UnsupportedSchemaError";
    this.keyword = keyword;
    this.path = path;
  }
}
