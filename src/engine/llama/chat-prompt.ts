// Renders OpenAI chat messages with the model's own chat template (the GGUF's Jinja
// `tokenizer.chat_template`, rendered by @huggingface/jinja as llama-server and vLLM render it)
// and tokenizes the result.
//
// Message contents never pass through the special-token parser: the template is rendered with a
// placeholder per message, the template's own text is tokenized with special tokens on and each
// content with them off, so a user typing "<|im_end|>" cannot close their turn.
//
// node-llama-cpp's chat wrappers were the first choice, but they merge consecutive messages of the
// same role and continue a final assistant message instead of opening a new turn (OpenAI opens a
// new one); its ChatML wrapper also prepends a BOS token that Qwen's template does not.
import { randomBytes } from "node:crypto";
import { Template } from "@huggingface/jinja";
import { resolveChatWrapper, type ChatHistoryItem, type LlamaModel, type Token } from "node-llama-cpp";
import { EngineError } from "../errors.js";
import type { ChatMessage, ToolDefinition } from "../types.js";
import { describeToolsForSystemPrompt, toolCallText } from "./tools/fallback-prompt.js";
import { detectToolCallSyntax, type ToolCallSyntax } from "./tools/syntax.js";
import { utf8Bytes } from "./tokenizer-ops.js";

export interface RenderOptions {
  /** Open the reply turn (HF's add_generation_prompt); default true. */
  generationPrompt?: boolean;
  /** Leave a final assistant message open, to be continued (vLLM's continue_final_message). */
  continueFinalMessage?: boolean;
  /** Functions the model may call, shown to it the way its template (or syntax.ts) says. */
  tools?: readonly ToolDefinition[];
  /**
   * Called with the UTF-8 length of the text about to be tokenized, before tokenizing: a prompt
   * that cannot fit the context is refused without the (synchronous) tokenizer running on it.
   */
  checkBytes?: (bytes: number) => void;
}

export class ChatPromptRenderer {
  private readonly template: Template | null;
  /** How this model writes function calls. */
  readonly toolSyntax: ToolCallSyntax;
  /** The template prints a call's arguments as given when they are text (Qwen); others want objects. */
  private readonly argumentsAsText: boolean;

  constructor(private readonly model: LlamaModel) {
    const source = model.fileInfo.metadata.tokenizer?.chat_template;
    this.template = typeof source === "string" ? new Template(source) : null;
    this.toolSyntax = detectToolCallSyntax(typeof source === "string" ? source : null);
    this.argumentsAsText = typeof source === "string" && source.includes("arguments is string");
  }

  get templateName(): string {
    return this.template
      ? "GGUF chat template (Jinja)"
      : `node-llama-cpp ${resolveChatWrapper(this.model).wrapperName} (the GGUF has no chat template)`;
  }

  render(messages: readonly ChatMessage[], options: RenderOptions = {}): Token[] {
    const tools = options.tools && options.tools.length > 0 ? options.tools : undefined;
    if (!this.template) return this.renderWithoutTemplate(this.withToolsAsText(messages, tools), options.checkBytes);
    if (!this.toolSyntax.templateRendersTools) messages = this.withToolsAsText(messages, tools);
    // Every text the client wrote is a placeholder while the template renders.
    const nonce = randomBytes(6).toString("hex");
    const texts: string[] = [];
    const mark = (text: string): string => {
      texts.push(text);
      return `\u0001lavash${nonce}m${texts.length - 1}\u0001`;
    };
    let lastContent = 0;
    const rendered = messages.map((m, i) => {
      if (i === messages.length - 1) lastContent = texts.length; // its content is marked first
      return this.templateMessage(m, mark);
    });
    const lastMark = `\u0001lavash${nonce}m${lastContent}\u0001`;
    let text: string;
    try {
      text = this.template.render({
        messages: rendered,
        ...(tools && this.toolSyntax.templateRendersTools ? { tools: tools.map(openAiTool) } : {}),
        add_generation_prompt: options.generationPrompt !== false && !options.continueFinalMessage,
        bos_token: this.model.tokens.bosString ?? "",
        eos_token: this.model.tokens.eosString ?? "",
      });
    } catch (error) {
      // Templates reject what their model was not trained on (raise_exception), e.g. roles that
      // do not alternate: the client's request, not a server fault.
      throw new EngineError(
        "invalid_request",
        `The model's chat template could not render the messages: ${(error as Error).message}`,
        "prompt.messages",
      );
    }
    if (options.continueFinalMessage) text = cutAfterLastMark(text, lastMark);

    const pieces = text.split(new RegExp(`\u0001lavash${nonce}m(\\d+)\u0001`));
    // split() alternates template text and captured placeholder numbers. Measured on what the
    // template kept: a template may drop messages, so the request's own texts bound nothing.
    const parts = pieces.map((piece, i) =>
      i % 2 === 0 ? { text: piece, special: true } : { text: texts[Number(piece)]!, special: false },
    );
    options.checkBytes?.(utf8Bytes(parts.map((p) => p.text)));
    const tokens: Token[] = [];
    // Appended one by one: push(...tokens) passes every token as an argument, and a long prompt
    // (about 125,000 tokens) overflows the call stack that way.
    for (const part of parts) for (const t of this.model.tokenize(part.text, part.special)) tokens.push(t);
    return tokens;
  }

  /** A message as chat templates expect it (OpenAI's field names), its texts as placeholders. */
  private templateMessage(m: ChatMessage, mark: (text: string) => string): Record<string, unknown> {
    // Templates rarely know "developer"; OpenAI treats it as the system message of older models.
    // Empty stays empty: templates test it (Qwen puts no newline before calls of a content-less turn).
    const out: Record<string, unknown> = {
      role: m.role === "developer" ? "system" : m.role,
      content: m.content === "" ? "" : mark(m.content),
    };
    if (m.toolCalls && m.toolCalls.length > 0)
      out.tool_calls = m.toolCalls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: this.argumentsAsText ? mark(c.arguments) : parseArguments(c.arguments) },
      }));
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    return out;
  }

  /**
   * For templates that know nothing of tools: the tools described in the system message, calls
   * written out in the syntax the model is asked to use, and results as user turns.
   */
  private withToolsAsText(
    messages: readonly ChatMessage[],
    tools: readonly ToolDefinition[] | undefined,
  ): ChatMessage[] {
    const out: ChatMessage[] = messages.map((m) => {
      if (m.role === "tool") return { role: "user", content: `<tool_response>\n${m.content}\n</tool_response>` };
      if (m.toolCalls && m.toolCalls.length > 0)
        return {
          role: "assistant",
          content: [m.content, toolCallText(this.toolSyntax, m.toolCalls)].filter((t) => t !== "").join("\n"),
        };
      return m;
    });
    if (!tools) return out;
    const description = describeToolsForSystemPrompt(this.toolSyntax, tools);
    const first = out[0];
    if (first && (first.role === "system" || first.role === "developer"))
      out[0] = { ...first, content: `${first.content}\n\n${description}` };
    else out.unshift({ role: "system", content: description });
    return out;
  }

  /** Models without a template: node-llama-cpp's best guess at their format. */
  private renderWithoutTemplate(messages: readonly ChatMessage[], checkBytes?: (bytes: number) => void): Token[] {
    // The wrapper adds its own text around every message's: the contents alone are a lower bound.
    checkBytes?.(utf8Bytes(messages.map((m) => m.content)));
    const history: ChatHistoryItem[] = messages.map((m) =>
      m.role === "assistant"
        ? { type: "model", response: [m.content] }
        : m.role === "user"
          ? { type: "user", text: m.content }
          : { type: "system", text: m.content },
    );
    history.push({ type: "model", response: [] });
    return resolveChatWrapper(this.model)
      .generateContextState({ chatHistory: history })
      .contextText.tokenize(this.model.tokenizer);
  }
}

function openAiTool(t: ToolDefinition): Record<string, unknown> {
  return {
    type: "function",
    function: {
      name: t.name,
      ...(t.description ? { description: t.description } : {}),
      parameters: t.parameters ?? { type: "object", properties: {} },
    },
  };
}

/** Templates that print arguments with `tojson` want the object, not its text. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function cutAfterLastMark(text: string, mark: string): string {
  const at = text.lastIndexOf(mark);
  if (at < 0)
    throw new EngineError(
      "invalid_request",
      "The chat template dropped the final message, so it cannot be continued.",
      "prompt.messages",
    );
  return text.slice(0, at + mark.length);
}
