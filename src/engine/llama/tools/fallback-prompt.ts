// What lavash shows a model whose chat template knows nothing of tools: the functions listed in
// the system message with the call syntax to use (Hermes', which the parser and grammar then
// expect), and earlier calls written out in that syntax.
import type { ToolCall, ToolDefinition } from "../../types.js";
import { argumentsPrefix, callPrefix, callSuffix, type ToolCallSyntax } from "./syntax.js";

export function describeToolsForSystemPrompt(syntax: ToolCallSyntax, tools: readonly ToolDefinition[]): string {
  const signatures = tools.map((t) =>
    JSON.stringify({
      type: "function",
      function: {
        name: t.name,
        description: t.description ?? "",
        parameters: t.parameters ?? { type: "object", properties: {} },
      },
    }),
  );
  const example = toolCallText(syntax, [{ id: "", name: "<function-name>", arguments: "<args-json-object>" }]);
  return (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
    `You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n${signatures.join("\n")}\n</tools>\n\n` +
    `For each function call, return a json object with function name and arguments in this form:\n${example}`
  );
}

/** Calls as the model writes them. */
export function toolCallText(syntax: ToolCallSyntax, calls: readonly ToolCall[]): string {
  const one = (c: ToolCall): string =>
    `${callPrefix(syntax)}${c.name}${argumentsPrefix(syntax)}${c.arguments}${callSuffix(syntax)}`;
  return syntax.blockOpen + calls.map(one).join(syntax.separator) + syntax.blockClose;
}
