// Parameters lavash accepts syntactically (so it can report precise errors and later honour
// them) but cannot act on yet. Silently ignoring them would give clients answers that look right
// and are not (no tool calls, no JSON mode, one choice instead of n), so any value that would
// change the result is rejected with a 400 naming the parameter. Each endpoint keeps its own
// table; a row is deleted when the feature lands.
import { invalidRequest } from "./errors.js";

export interface UnsupportedRule {
  name: string;
  /**
   * True when the value leaves the result unchanged (the default, or something equivalent).
   * Only called for present, non-null values; `body` allows rules that depend on other fields.
   */
  isNoop(value: unknown, body: Readonly<Record<string, unknown>>): boolean;
  /** Appended to the message, e.g. "only n=1 is accepted". */
  hint?: string;
  /** Replaces the whole message, for parameters where "does not support 'x'" would mislead. */
  message?: string;
}

/** Throws a 400 `unsupported_parameter` for the first rule whose parameter is not a no-op. */
export function rejectUnsupported(body: object, rules: readonly UnsupportedRule[]): void {
  const record = body as Readonly<Record<string, unknown>>;
  for (const rule of rules) {
    const value = record[rule.name];
    if (value === undefined || value === null) continue;
    if (rule.isNoop(value, record)) continue;
    const hint = rule.hint === undefined ? "" : `: ${rule.hint}`;
    const message = rule.message ?? `lavash does not support '${rule.name}' yet${hint}.`;
    throw invalidRequest(message, rule.name, "unsupported_parameter");
  }
}

// Small builders so the per-endpoint tables read as data.

/** Rejected whenever present (null counts as absent). */
export function never(name: string, hint?: string): UnsupportedRule {
  return { name, isNoop: () => false, ...(hint === undefined ? {} : { hint }) };
}

/** Accepted only when equal to one of `values` (compared with ===). */
export function onlyValues(name: string, values: readonly unknown[], hint?: string): UnsupportedRule {
  return { name, isNoop: (v) => values.includes(v), ...(hint === undefined ? {} : { hint }) };
}

/** Accepted when `isNoop` holds. */
export function when(
  name: string,
  isNoop: (value: unknown, body: Readonly<Record<string, unknown>>) => boolean,
  hint?: string,
): UnsupportedRule {
  return { name, isNoop, ...(hint === undefined ? {} : { hint }) };
}

/** An empty object or array: `{}` for logit_bias, `[]` for tools, says nothing. */
export function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (value !== null && typeof value === "object") return Object.keys(value).length === 0;
  return false;
}
