// How a model writes function calls, read off its chat template: the template shows the model the
// format it was trained on (Qwen/Hermes `<tool_call>` blocks, Mistral's `[TOOL_CALLS]` list,
// Llama 3's bare JSON object). Every syntax here is the same shape: an optional block around all
// calls, an optional wrapper around each, and one JSON object per call,
// `{"name": "<function>", "<argumentsKey>": <arguments>}`.

export interface ToolCallSyntax {
  name: "hermes" | "mistral" | "llama3";
  blockOpen: string;
  blockClose: string;
  callOpen: string;
  callClose: string;
  separator: string;
  argumentsKey: "arguments" | "parameters";
  /**
   * Text that starts a call when the model may also answer in prose (tool_choice auto): the
   * grammar takes over once the model has written it.
   */
  trigger: string;
  /** The template renders `tools` itself; otherwise lavash describes them in the system message. */
  templateRendersTools: boolean;
}

const HERMES = {
  name: "hermes",
  blockOpen: "",
  blockClose: "",
  callOpen: "<tool_call>\n",
  callClose: "\n</tool_call>",
  separator: "\n",
  argumentsKey: "arguments",
  trigger: "<tool_call>",
} as const;

const MISTRAL = {
  name: "mistral",
  blockOpen: "[TOOL_CALLS][",
  blockClose: "]",
  callOpen: "",
  callClose: "",
  separator: ", ",
  argumentsKey: "arguments",
  trigger: "[TOOL_CALLS]",
} as const;

const LLAMA3 = {
  name: "llama3",
  blockOpen: "",
  blockClose: "",
  callOpen: "",
  callClose: "",
  separator: "\n",
  argumentsKey: "parameters",
  trigger: '{"name"',
} as const;

/**
 * The syntax a template teaches. Templates that never mention tools get the Hermes syntax (the
 * most common one in open models' training data), with the tools described by lavash.
 */
export function detectToolCallSyntax(template: string | null): ToolCallSyntax {
  const source = template ?? "";
  const rendersTools = /\btools\b/.test(source);
  if (source.includes("[TOOL_CALLS]")) return { ...MISTRAL, templateRendersTools: rendersTools };
  if (source.includes("<tool_call>")) return { ...HERMES, templateRendersTools: rendersTools };
  if (source.includes("<|start_header_id|>") && rendersTools) return { ...LLAMA3, templateRendersTools: true };
  return { ...HERMES, templateRendersTools: false };
}

/** The text every call starts with, up to its function name. */
export function callPrefix(syntax: ToolCallSyntax): string {
  return `${syntax.callOpen}{"name": "`;
}

/** What follows a function's name up to the arguments value. */
export function argumentsPrefix(syntax: ToolCallSyntax): string {
  return `", "${syntax.argumentsKey}": `;
}

/** What closes a call after its arguments value. */
export function callSuffix(syntax: ToolCallSyntax): string {
  return `}${syntax.callClose}`;
}
