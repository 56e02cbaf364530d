// The request body limit (--max-body-size): its default, how sizes are written, and the 413.
import { ApiError } from "../endpoints/shared/errors.js";

/**
 * 8 MiB. Everything lavash accepts is text or token ids, and the largest useful request is far
 * smaller: a full 128k-token context is about 0.5 MB of text (3 MB if every character came
 * JSON-escaped as \uXXXX) or 1 MB as a token-id array, and OpenAI's embedding batch limit (300,000
 * tokens) about 2 MB as ids. A body beyond this is a mistake or an attack; refusing it before it is
 * read and parsed keeps both memory and time bounded (JSON.parse and the tokenizer are synchronous).
 */
export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1024,
  k: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * A size as people write it: bytes ("1048576"), or a number with a unit ("512kb", "10mb", "1.5 MiB",
 * "1g"). Units are binary (kb = 1024 bytes), as in body-size settings of the HTTP servers people
 * know (nginx's client_max_body_size, Express's body-parser limit). Null when it is not a size.
 */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return null;
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

/** "8 MiB (8388608 bytes)", "512 KiB (524288 bytes)", "1000 bytes". */
export function describeByteSize(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit} (${bytes} bytes)`;
    }
  return `${bytes} bytes`;
}

/** 413 with the limit and how to raise it. OpenAI's own 413 has no published body; this keeps its error shape. */
export function bodyTooLarge(limit: number, received?: number): ApiError {
  const size = received !== undefined && Number.isFinite(received) ? ` (${received} bytes)` : "";
  return new ApiError(
    413,
    `The request body${size} is larger than this server's limit of ${describeByteSize(limit)}. ` +
      "Send a smaller request, or start the server with a larger --max-body-size.",
    { type: "invalid_request_error", code: "request_too_large" },
  );
}
