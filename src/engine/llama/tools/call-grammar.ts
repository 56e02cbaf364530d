// The grammar of a turn of function calls in a model's syntax, with each function's arguments
// constrained by its JSON Schema: tool_choice "required" and a named function are enforced from
// the first token; "auto" switches it on once the model has written the syntax's trigger, so the
// grammar then starts after the text already written.
import {
  composeJsonSchemasGbnf,
  UnsupportedSchemaPartError,
  type SchemaPart,
} from "../../grammar/json-schema-to-gbnf.js";
import { UnsupportedSchemaError } from "../../grammar/errors.js";
import { alt, EMPTY, lit, rep, seq, type Expr } from "../../grammar/gbnf.js";
import { EngineError, type EngineField } from "../../errors.js";
import type { ToolCalling, ToolDefinition } from "../../types.js";
import { argumentsPrefix, callPrefix, callSuffix, type ToolCallSyntax } from "./syntax.js";

/** OpenAI: a function without `parameters` takes an empty parameter list. */
const NO_PARAMETERS = { type: "object", properties: {}, additionalProperties: false };

/** The text a turn of calls starts with, up to the first function's name. */
export function callsOpening(syntax: ToolCallSyntax): string {
  return syntax.blockOpen + callPrefix(syntax);
}

/**
 * GBNF for the calls, given that `written` (a prefix of callsOpening) is already in the output.
 * @throws EngineError("invalid_request") naming a strict tool whose schema cannot be enforced.
 */
export function toolCallGbnf(syntax: ToolCallSyntax, calling: ToolCalling, written = ""): string {
  const opening = callsOpening(syntax);
  if (!opening.startsWith(written)) throw new Error(`internal: '${written}' does not open a call`);
  const choice = calling.toolChoice;
  const offered = typeof choice === "object" ? calling.tools.filter((t) => t.name === choice.name) : calling.tools;
  // Non-strict tools promise no exact schema adherence (as with OpenAI): a keyword lavash cannot
  // enforce is dropped and the rest of the schema still enforced. Strict ones are refused.
  const parts: SchemaPart[] = offered.map((t) => ({
    schema: t.parameters ?? NO_PARAMETERS,
    strict: t.strict,
    unsupported: t.strict ? "refuse" : "drop",
  }));
  const compose = (values: Expr[]): Expr => {
    const call = alt(...offered.map((t, i) => seq(lit(t.name + argumentsPrefix(syntax)), values[i]!)));
    const more = calling.parallel
      ? rep(seq(lit(syntax.separator + callPrefix(syntax)), call, lit(callSuffix(syntax))), 0, null)
      : EMPTY;
    return seq(lit(opening.slice(written.length)), call, lit(callSuffix(syntax)), more, lit(syntax.blockClose));
  };
  for (;;) {
    try {
      return composeJsonSchemasGbnf(parts, compose);
    } catch (error) {
      const part =
        error instanceof UnsupportedSchemaPartError ? error.part : error instanceof UnsupportedSchemaError ? 0 : -2;
      if (part === -2) throw error;
      const cause = error instanceof UnsupportedSchemaPartError ? error.schemaError : (error as UnsupportedSchemaError);
      const tool = part >= 0 ? offered[part] : undefined;
      // What dropping keywords cannot mend, a non-strict schema that no value satisfies (a
      // required property `false`, minLength above maxLength) or whose references loop without
      // matching anything, constrains the arguments to a JSON object rather than failing the
      // request. Strict ones are refused.
      if (tool && !tool.strict && parts[part]!.schema !== ANY_OBJECT) {
        parts[part] = { schema: ANY_OBJECT, strict: false };
        continue;
      }
      throw new EngineError(
        "invalid_request",
        `${cause.message}: function '${tool?.name ?? "?"}' cannot be called as declared`,
        paramOf(calling.tools, tool),
      );
    }
  }
}

const ANY_OBJECT = { type: "object" };

function paramOf(tools: readonly ToolDefinition[], tool: ToolDefinition | undefined): EngineField {
  const i = tool ? tools.indexOf(tool) : -1;
  return i >= 0 ? `tools[${i}].parameters` : "tools";
}
