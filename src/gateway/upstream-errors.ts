// An upstream's error answer → OpenAI's error shape. Engines word errors differently: OpenAI's
// `{"error": {...}}` (lavash, SGLang, llama-server), vLLM's `{"object": "error", "message", ...}`,
// TGI's `{"error": "text", "error_type"}`, FastAPI's `{"detail"}`, or plain text. The status is
// kept where it tells the client something about its request (400, 404, 409, 413, 422, 429) or
// about waiting (503, 504); an upstream refusing the gateway's own key, or failing otherwise,
// is a 502: the client did nothing wrong.
import { ApiError } from "../endpoints/shared/errors.js";

const KEPT = new Set([400, 404, 409, 413, 422, 429, 503, 504]);

export function upstreamError(status: number, bodyText: string, retryAfter: string | null, replica: string): ApiError {
  const parsed = describe(bodyText);
  const headers: Record<string, string> = {};
  if ((status === 429 || status === 503) && retryAfter !== null) headers["Retry-After"] = retryAfter;
  if (status === 401 || status === 403)
    return new ApiError(
      502,
      `The upstream ${replica} refused the gateway's credentials (HTTP ${status}): ${parsed.message}`,
      {
        type: "server_error",
        code: "upstream_auth_failed",
      },
    );
  const kept = KEPT.has(status) ? status : status >= 400 && status < 500 ? 400 : 502;
  return new ApiError(kept, parsed.message || `The upstream ${replica} answered HTTP ${status}.`, {
    type: parsed.type ?? (kept >= 500 ? "server_error" : kept === 429 ? "requests" : "invalid_request_error"),
    param: parsed.param,
    code: parsed.code ?? (kept === 502 ? "upstream_error" : null),
    headers,
  });
}

/** An error object met inside a stream (`data: {"error": ...}` or an `event: error`). */
export function streamError(payload: unknown, replica: string): ApiError {
  const parsed = describe(typeof payload === "string" ? payload : JSON.stringify(payload));
  return new ApiError(500, parsed.message || `The upstream ${replica} reported an error mid-stream.`, {
    type: parsed.type ?? "server_error",
    param: parsed.param,
    code: parsed.code,
  });
}

interface Described {
  message: string;
  type: string | null;
  param: string | null;
  code: string | null;
}

function describe(text: string): Described {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 1000), type: null, param: null, code: null };
  }
  if (body === null || typeof body !== "object") return { message: String(body), type: null, param: null, code: null };
  const b = body as Record<string, unknown>;
  const inner =
    b.error !== null && typeof b.error === "object"
      ? (b.error as Record<string, unknown>)
      : b.object === "error"
        ? b
        : null;
  if (inner !== null)
    return {
      message: str(inner.message) ?? JSON.stringify(inner),
      type: str(inner.type),
      param: str(inner.param),
      code: inner.code === undefined || inner.code === null ? null : String(inner.code),
    };
  if (typeof b.error === "string") return { message: b.error, type: str(b.error_type), param: null, code: null };
  const detail = b.detail ?? b.message;
  return {
    message: typeof detail === "string" ? detail : JSON.stringify(detail ?? body),
    type: null,
    param: null,
    code: null,
  };
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}
