// The text a request's prompt is routed by: what the upstream will likely put first in its KV cache.
// Chat: the messages in order, each as its role and its text (parts' text joined; other parts as
// JSON), tools first as chat templates put them in the system turn. Completions: the prompt
// (the first, when a list). Embeddings: the input. Anything else: its JSON.

/** Characters looked at: a long prompt's routing depends on its start, and the trees stay small. */
export const MAX_ROUTED_CHARS = 32_768;

export function promptText(path: string, body: Record<string, unknown>): string {
  let text: string;
  if (path === "/v1/chat/completions") text = chatText(body);
  else if (path === "/v1/completions") text = firstText(body.prompt);
  else if (path === "/v1/embeddings") text = firstText(body.input);
  else text = JSON.stringify(body.input ?? body.messages ?? body.prompt ?? "");
  return text.length > MAX_ROUTED_CHARS ? text.slice(0, MAX_ROUTED_CHARS) : text;
}

function chatText(body: Record<string, unknown>): string {
  let text = body.tools === undefined ? "" : `${JSON.stringify(body.tools)}\n`;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    if (m === null || typeof m !== "object") continue;
    const { role, content } = m as { role?: unknown; content?: unknown };
    text += `<${String(role)}>${contentText(content)}`;
    const rest = Object.fromEntries(Object.entries(m).filter(([k]) => k !== "role" && k !== "content"));
    if (Object.keys(rest).length > 0) text += JSON.stringify(rest);
    text += "\n";
  }
  return text;
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return content == null ? "" : JSON.stringify(content);
  return content
    .map((part) =>
      part !== null && typeof part === "object" && (part as { type?: unknown }).type === "text"
        ? String((part as { text?: unknown }).text ?? "")
        : JSON.stringify(part),
    )
    .join("");
}

function firstText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return value === undefined ? "" : JSON.stringify(value);
}
