// Request fields that chat and legacy completions share, mapped onto engine types once.
import { samplingExtensions, type SamplingExtensionFields } from "./request-fields.js";
import { flattenContent, type ChatCompletionRequest, type ChatMessageParam } from "../chat-completions/schema.js";
import type { ChatMessage, PositionedTokenLogprob, SamplingParams, ToolCall, ToolDefinition, Usage } from "../../engine/types.js";

export interface SamplingFields extends SamplingExtensionFields {
  temperature?: number | null | undefined;
  top_p?: number | null | undefined;
  seed?: number | null | undefined;
}

/** OpenAI's defaults: temperature 1, top_p 1; no seed means a fresh random one. */
export function samplingParams(body: SamplingFields): SamplingParams {
  return { temperature: body.temperature ?? 1, topP: body.top_p ?? 1, seed: body.seed ?? undefined, ...samplingExtensions(body) };
}

/** vLLM's return_tokens_as_token_ids: tokens written as `token_id:<id>`. */
export function tokenNames(logprobs: PositionedTokenLogprob[], asIds: boolean): PositionedTokenLogprob[] {
  if (!asIds) return logprobs;
  return logprobs.map((t) => ({ ...t, text: `token_id:${t.token}`, top: t.top.map((a) => ({ ...a, text: `token_id:${a.token}` })) }));
}

export function tokenUsage(usage: Usage): { promptTokens: number; completionTokens: number; cachedTokens: number } {
  return { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cachedTokens: usage.cachedPromptTokens };
}

/** A chat message as the engine takes it. */
export function engineMessage(m: ChatMessageParam): ChatMessage {
  switch (m.role) {
    case "assistant": {
      const toolCalls: ToolCall[] = [];
      for (const c of m.tool_calls ?? []) if (c.type === "function") toolCalls.push({ id: c.id, name: c.function.name, arguments: c.function.arguments });
      return { role: "assistant", content: flattenContent(m.content), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
    }
    case "tool":
      return { role: "tool", content: flattenContent(m.content), toolCallId: m.tool_call_id };
    case "function":
      // Refused by CHAT_UNSUPPORTED before this point.
      throw new Error("internal: function message reached the engine mapping");
    default:
      return { role: m.role, content: flattenContent(m.content) };
  }
}

/** The request's function tools as the engine takes them (other kinds are refused earlier). */
export function toolDefinitions(tools: ChatCompletionRequest["tools"]): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  for (const t of tools ?? [])
    if (t.type === "function")
      out.push({
        name: t.function.name,
        ...(t.function.description ? { description: t.function.description } : {}),
        ...(t.function.parameters ? { parameters: t.function.parameters } : {}),
        strict: t.function.strict === true,
      });
  return out;
}
