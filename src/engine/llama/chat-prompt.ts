// Renders OpenAI chat messages into the model's own prompt format (its GGUF chat template, as
// resolved by node-llama-cpp) and tokenizes it. User text is tokenized as plain text, so a user
// cannot inject control tokens such as <|im_end|>.
import { resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";
import type { ChatMessage } from "../types.js";

export class ChatPromptRenderer {
  private readonly wrapper: ChatWrapper;

  constructor(private readonly model: LlamaModel) {
    // The GGUF's own Jinja template is the source of truth (llama-server renders it too). The
    // specialised wrappers node-llama-cpp would pick instead differ in details: its ChatML wrapper
    // prepends BOS, which Qwen's template does not.
    const hasTemplate = typeof model.fileInfo.metadata.tokenizer?.chat_template === "string";
    this.wrapper = resolveChatWrapper(model, { type: hasTemplate ? "jinjaTemplate" : "auto" }) ?? resolveChatWrapper(model);
  }

  get templateName(): string {
    return this.wrapper.wrapperName;
  }

  render(messages: readonly ChatMessage[]): Token[] {
    const history: ChatHistoryItem[] = messages.map(toHistoryItem);
    // OpenAI semantics: the reply is always a new assistant turn, even after an assistant message.
    history.push({ type: "model", response: [] });
    const { contextText } = this.wrapper.generateContextState({ chatHistory: history });
    return contextText.tokenize(this.model.tokenizer);
  }
}

function toHistoryItem(message: ChatMessage): ChatHistoryItem {
  switch (message.role) {
    case "system":
    case "developer":
      return { type: "system", text: message.content };
    case "user":
      return { type: "user", text: message.content };
    case "assistant":
      return { type: "model", response: [message.content] };
  }
}
