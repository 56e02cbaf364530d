// An output constraint (the wire's response_format) and tool-call GBNF → a llama.cpp grammar,
// compiled once per distinct text. The conversion is lavash's own (src/engine/grammar):
// node-llama-cpp's silently drops `required`, `anyOf`, `pattern` and more, and a structured output
// that is not what was asked must be refused.
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import { JSON_OBJECT_GBNF, UnsupportedSchemaError, jsonSchemaToGbnf } from "../grammar/json-schema-to-gbnf.js";
import type { OutputConstraint } from "../types.js";

export class OutputGrammars {
  private readonly cache = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  /** Throws EngineError("invalid_request") naming what the schema asks that lavash cannot enforce. */
  async grammarFor(constraint: OutputConstraint): Promise<LlamaGrammar> {
    return this.compile(
      constraint.kind === "json_object" ? JSON_OBJECT_GBNF : this.convert(constraint.schema, constraint.strict),
    );
  }

  /** A grammar from GBNF text, compiled once. */
  compile(gbnf: string): Promise<LlamaGrammar> {
    let grammar = this.cache.get(gbnf);
    if (!grammar) {
      grammar = this.llama.createGrammar({ grammar: gbnf });
      // A grammar llama.cpp rejects is lavash's bug; do not keep the failed promise.
      grammar.catch(() => this.cache.delete(gbnf));
      if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(gbnf, grammar);
    }
    return grammar;
  }

  private convert(schema: unknown, strict: boolean): string {
    try {
      // Not strict: keywords that cannot be enforced are dropped, the rest enforced.
      return jsonSchemaToGbnf(schema, { strict, unsupported: strict ? "refuse" : "drop" });
    } catch (error) {
      if (error instanceof UnsupportedSchemaError)
        throw new EngineError("invalid_request", error.message, "outputConstraint.schema");
      throw error;
    }
  }
}
