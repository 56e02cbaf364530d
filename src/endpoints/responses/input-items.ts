// Input items: their stored form (each with an id, as input_items lists them), the conversation a
// `previous_response_id` chain stands for, and the engine's chat messages for a list of items.
import { randomBytes } from "node:crypto";
import type { ChatMessage, ToolCall } from "../../engine/types.js";
import type { ResponseStore } from "../../storage/response-store.js";
import { type ApiError, invalidRequest } from "../shared/errors.js";
import type { ContentPart, InputItemParam } from "./schema.js";

/** `<prefix>_` + 48 hex digits, as OpenAI's response and item ids look. */
export function newItemId(prefix: "resp" | "msg" | "fc" | "fco" | "rs"): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

/** An item as stored and listed: the wire item with an id and a status. */
export type StoredItem = InputItemParam & { id: string } & Record<string, unknown>;

/** `input` as items in their stored form: ids given or made, string contents as parts. */
export function storedInputItems(input: string | readonly InputItemParam[] | null | undefined): StoredItem[] {
  if (input == null) return [];
  if (typeof input === "string")
    return [
      {
        type: "message",
        id: newItemId("msg"),
        role: "user",
        content: [{ type: "input_text", text: input }],
        status: "completed",
      },
    ];
  return input.map(storedItem);
}

function storedItem(item: InputItemParam): StoredItem {
  switch (item.type) {
    case "message": {
      const content =
        typeof item.content === "string"
          ? [
              item.role === "assistant"
                ? { type: "output_text" as const, text: item.content, annotations: [] }
                : { type: "input_text" as const, text: item.content },
            ]
          : item.content;
      return {
        type: "message",
        id: item.id ?? newItemId("msg"),
        role: item.role,
        content,
        status: item.status ?? "completed",
      };
    }
    case "function_call":
      return {
        type: "function_call",
        id: item.id ?? newItemId("fc"),
        call_id: item.call_id,
        name: item.name,
        arguments: item.arguments,
        status: item.status ?? "completed",
      };
    case "function_call_output":
      return {
        type: "function_call_output",
        id: item.id ?? newItemId("fco"),
        call_id: item.call_id,
        output: item.output,
        status: item.status ?? "completed",
      };
    case "reasoning":
      return {
        type: "reasoning",
        id: item.id ?? newItemId("rs"),
        summary: item.summary ?? [],
        ...(item.content ? { content: item.content } : {}),
        ...(item.encrypted_content != null ? { encrypted_content: item.encrypted_content } : {}),
      };
    default:
      // The other types are refused by the schema.
      throw new Error(`internal: input item type '${item.type}' reached the mapping`);
  }
}

export const NO_STORE_HINT = "this server runs with --no-store, so no response is kept";

export function previousResponseNotFound(id: string, detail = ""): ApiError {
  return invalidRequest(
    `Previous response with id '${id}' not found${detail}.`,
    "previous_response_id",
    "previous_response_not_found",
  );
}

/**
 * The conversation before this request when it continues `previousId`: each stored response of
 * the chain, oldest first, as its input items then its output items. Instructions are not part
 * of it (OpenAI does not carry them over). A missing response anywhere in the chain is a 400
 * naming previous_response_id, as OpenAI's for an unknown id.
 */
export function conversationHistory(store: ResponseStore | null, previousId: string | null | undefined): StoredItem[] {
  if (previousId == null) return [];
  if (store === null) throw previousResponseNotFound(previousId, `: ${NO_STORE_HINT}`);
  const chain: { inputItems: unknown[]; output: unknown[] }[] = [];
  const seen = new Set<string>();
  for (let id: string | null = previousId; id !== null && !seen.has(id); ) {
    seen.add(id);
    const stored = store.get(id);
    if (stored === null)
      throw previousResponseNotFound(
        previousId,
        id === previousId ? "" : ` (the response '${id}' it continues is no longer stored)`,
      );
    chain.push({ inputItems: stored.inputItems, output: (stored.response.output as unknown[] | undefined) ?? [] });
    id = stored.previousResponseId;
  }
  return chain.reverse().flatMap((r) => [...r.inputItems, ...r.output] as StoredItem[]);
}

/**
 * Items → the engine's chat messages. A function_call joins the assistant turn before it (or
 * opens one); its output is a tool turn, which must answer a call made earlier in the
 * conversation (OpenAI's 400 otherwise). Reasoning items are left out of the prompt: chat
 * templates drop earlier turns' reasoning, and the engine's messages have no place for it.
 * `historyLength`: how many of the items came from the previous_response_id chain (for `param`).
 */
export function engineMessages(items: readonly StoredItem[], historyLength = 0): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const calls = new Set<string>();
  for (const [i, item] of items.entries()) {
    switch (item.type) {
      case "message":
        messages.push({ role: item.role, content: flattenParts(item.content) });
        break;
      case "function_call": {
        const call: ToolCall = { id: item.call_id, name: item.name, arguments: item.arguments };
        calls.add(item.call_id);
        const last = messages.at(-1);
        if (last?.role === "assistant") (last.toolCalls ??= []).push(call);
        else messages.push({ role: "assistant", content: "", toolCalls: [call] });
        break;
      }
      case "function_call_output":
        if (!calls.has(item.call_id))
          throw invalidRequest(
            `No tool call found for function call output with call_id ${item.call_id}.`,
            i < historyLength ? "previous_response_id" : `input[${i - historyLength}]`,
            "invalid_value",
          );
        messages.push({ role: "tool", content: flattenParts(item.output), toolCallId: item.call_id });
        break;
      default:
        break;
    }
  }
  return messages;
}

/** A content as plain text; parts joined with "\n" as chat does. */
export function flattenParts(content: string | readonly ContentPart[]): string {
  if (typeof content === "string") return content;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type === "input_text" || part.type === "output_text") texts.push(part.text);
    else if (part.type === "refusal") texts.push(part.refusal);
  }
  return texts.join("\n");
}
