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
import type { ChatMessage } from "../types.js";

export interface RenderOptions {
  /** Open the reply turn (HF's add_generation_prompt); default true. */
  generationPrompt?: boolean;
  /** Leave a final assistant message open, to be continued (vLLM's continue_final_message). */
  continueFinalMessage?: boolean;
}

export class ChatPromptRenderer {
  private readonly template: Template | null;

  constructor(private readonly model: LlamaModel) {
    const source = model.fileInfo.metadata.tokenizer?.chat_template;
    this.template = typeof source === "string" ? new Template(source) : null;
  }

  get templateName(): string {
    return this.template ? "GGUF chat template (Jinja)" : `node-llama-cpp ${resolveChatWrapper(this.model).wrapperName} (the GGUF has no chat template)`;
  }

  render(messages: readonly ChatMessage[], options: RenderOptions = {}): Token[] {
    if (!this.template) return this.renderWithoutTemplate(messages);
    const nonce = randomBytes(6).toString("hex");
    const marks = messages.map((_, i) => `\u0001lavash${nonce}m${i}\u0001`);
    let text: string;
    try {
      text = this.template.render({
        // Templates rarely know "developer"; OpenAI treats it as the system message of older models.
        messages: messages.map((m, i) => ({ role: m.role === "developer" ? "system" : m.role, content: marks[i] })),
        add_generation_prompt: options.generationPrompt !== false && !options.continueFinalMessage,
        bos_token: this.model.tokens.bosString ?? "",
        eos_token: this.model.tokens.eosString ?? "",
      });
    } catch (error) {
      // Templates reject what their model was not trained on (raise_exception), e.g. roles that
      // do not alternate: the client's request, not a server fault.
      throw new EngineError("invalid_request", `The model's chat template could not render the messages: ${(error as Error).message}`, "messages");
    }
    if (options.continueFinalMessage) text = cutAfterLastMark(text, marks.at(-1)!);

    const tokens: Token[] = [];
    let rest = text;
    for (const [i, mark] of marks.entries()) {
      const at = rest.indexOf(mark);
      if (at < 0) continue; // a template may leave a message out (e.g. a second system message)
      tokens.push(...this.model.tokenize(rest.slice(0, at), true), ...this.model.tokenize(messages[i]!.content, false));
      rest = rest.slice(at + mark.length);
    }
    tokens.push(...this.model.tokenize(rest, true));
    return tokens;
  }

  /** Models without a template: node-llama-cpp's best guess at their format. */
  private renderWithoutTemplate(messages: readonly ChatMessage[]): Token[] {
    const history: ChatHistoryItem[] = messages.map((m) =>
      m.role === "assistant" ? { type: "model", response: [m.content] } : m.role === "user" ? { type: "user", text: m.content } : { type: "system", text: m.content },
    );
    history.push({ type: "model", response: [] });
    return resolveChatWrapper(this.model).generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer);
  }
}

function cutAfterLastMark(text: string, mark: string): string {
  const at = text.lastIndexOf(mark);
  if (at < 0) throw new EngineError("invalid_request", "The chat template dropped the final message, so it cannot be continued.", "messages");
  return text.slice(0, at + mark.length);
}
