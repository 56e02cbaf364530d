// PITA's inference-time scaling codes (cobi-inc/pita, test_time_coding): a system prompt that
// starts with `ITS_<CHAIN>_<TOKEN>` asks for scaling the way an `its` object does, so that clients
// written for PITA work unchanged. Chat only (the legacy prompt has no system message).
//
//   CHAIN = NONE | SMC_<num_particles>_<tokens_per_step>_<stop_on_eos 0|1> | BO_<n>_<top_k>
//   TOKEN = NONE | PS_<block_size>_<mcmc_steps>
import type { ChatCompletionRequest, ChatMessageParam } from "../../chat-completions/schema.js";
import { type ApiError, invalidRequest } from "../errors.js";
import { ITS_LIMITS, itsSchema, type ItsParams } from "./schema.js";

export const ITS_CODE_PREFIX = "ITS_";
export const ITS_CODE_PARAM = "messages[0].content";

export const ITS_CODE_GRAMMAR =
  "ITS_<CHAIN>_<TOKEN>, where CHAIN is NONE, SMC_<num_particles>_<tokens_per_step>_<stop_on_eos 0|1> or BO_<n>_<top_k>, " +
  "and TOKEN is NONE or PS_<block_size>_<mcmc_steps> (unsigned integers; e.g. ITS_SMC_10_5_1_PS_192_8, ITS_NONE_PS_192_8, " +
  "ITS_BO_8_2_NONE, ITS_NONE_NONE)";

export const ITS_WITH_CODE =
  "Invalid value for 'its': the first system message starts with an inference-time scaling code (ITS_...) and 'its' is given too; use one of them.";

export interface ItsCodeResult {
  /** The scaling the code asks for; null without a code, or for ITS_NONE_NONE. */
  its: ItsParams | null;
  /** The messages with the code (and the whitespace after it) removed from the first one. */
  messages: ChatMessageParam[];
  /** Whether the first message carried a code (ITS_NONE_NONE included). */
  found: boolean;
}

/** `ITS_` + anything up to the first whitespace, after optional leading whitespace; then the whitespace after it. */
const LEADING_CODE = /^\s*(ITS_\S*)\s*/;

/**
 * Finds and strips a code at the start of the first message when its role is system or
 * developer (string content, or the first part of array content). Throws a 400 (param
 * messages[0].content) for a first word that starts with ITS_ but does not follow the grammar.
 */
export function extractItsCode(messages: readonly ChatMessageParam[]): ItsCodeResult {
  const first = messages[0];
  const unchanged: ItsCodeResult = { its: null, messages: [...messages], found: false };
  if (first === undefined || (first.role !== "system" && first.role !== "developer")) return unchanged;

  const content = first.content;
  const text = typeof content === "string" ? content : content[0]?.text;
  if (text === undefined) return unchanged;
  const match = LEADING_CODE.exec(text);
  if (match === null) return unchanged;

  const its = parseItsCode(match[1]!);
  const rest = text.slice(match[0].length);
  let stripped: typeof content;
  if (typeof content === "string") stripped = rest;
  else {
    const [head, ...tail] = content;
    // An emptied first part is dropped, unless it is the only one (content stays a valid list).
    stripped = rest === "" && tail.length > 0 ? tail : [{ ...head!, text: rest }, ...tail];
  }
  return { its, messages: [{ ...first, content: stripped }, ...messages.slice(1)], found: true };
}

/** The `its` of a chat request: its object, or a code in the first system message (not both). */
export function resolveChatIts(req: Pick<ChatCompletionRequest, "its" | "messages">): {
  its: ItsParams | null;
  messages: ChatMessageParam[];
} {
  const code = extractItsCode(req.messages);
  if (code.found && req.its != null) throw invalidRequest(ITS_WITH_CODE, "its", "invalid_value");
  return { its: req.its ?? code.its, messages: code.messages };
}

/** Parses one code (`ITS_...`, no whitespace); null for ITS_NONE_NONE. */
export function parseItsCode(code: string): ItsParams | null {
  const parts = code.split("_");
  let i = 1; // parts[0] is "ITS"
  const take = (what: string): string => {
    const part = parts[i++];
    if (part === undefined || part === "") throw codeError(code, `missing ${what}`);
    return part;
  };
  const number = (field: keyof typeof ITS_LIMITS | "stop_on_eos" | "top_k", what = field): number => {
    const raw = take(what);
    if (!/^\d+$/.test(raw)) throw codeError(code, `${what} must be an unsigned integer, got '${raw}'`);
    const value = Number(raw);
    const limits =
      field === "stop_on_eos"
        ? { min: 0, max: 1 }
        : field === "top_k"
          ? { min: 1, max: ITS_LIMITS.n.max }
          : ITS_LIMITS[field];
    if (value < limits.min || value > limits.max) {
      throw codeError(code, `${what} must be between ${limits.min} and ${limits.max}, got ${raw}`);
    }
    return value;
  };

  let chain: Record<string, unknown> | null;
  const chainName = take("CHAIN (NONE, SMC or BO)");
  switch (chainName) {
    case "NONE":
      chain = null;
      break;
    case "SMC":
      chain = {
        method: "smc",
        num_particles: number("num_particles"),
        tokens_per_step: number("tokens_per_step"),
        stop_on_eos: number("stop_on_eos") === 1,
        metric: "logprobs",
        // PITA resamples after every step.
        ess_threshold: 1,
      };
      break;
    case "BO": {
      const n = number("n");
      const topK = number("top_k");
      if (topK > n) throw codeError(code, `top_k (${topK}) must not exceed n (${n})`);
      chain = { method: "best_of_n", n, top_k: topK, metric: "logprobs" };
      break;
    }
    default:
      throw codeError(code, `unknown CHAIN '${chainName}'`);
  }

  let power: { block_size: number; mcmc_steps: number } | null;
  const tokenName = take("TOKEN (NONE or PS)");
  switch (tokenName) {
    case "NONE":
      power = null;
      break;
    case "PS":
      power = { block_size: number("block_size"), mcmc_steps: number("mcmc_steps") };
      break;
    default:
      throw codeError(code, `unknown TOKEN '${tokenName}'`);
  }
  if (i < parts.length) throw codeError(code, `unexpected '${parts.slice(i).join("_")}' after the TOKEN section`);

  let raw: Record<string, unknown> | null;
  if (chain === null) raw = power === null ? null : { method: "power_sampling", ...power };
  else raw = power === null ? chain : { ...chain, power_sampling: power };
  if (raw === null) return null;
  // Through the schema so that the defaults are the object's; the ranges were checked above.
  const parsed = itsSchema.safeParse(raw);
  if (!parsed.success) throw codeError(code, parsed.error.issues[0]?.message ?? "invalid values");
  return parsed.data;
}

function codeError(code: string, reason: string): ApiError {
  return invalidRequest(
    `Invalid inference-time scaling code '${code}' at the start of the system message: ${reason}. Expected ${ITS_CODE_GRAMMAR}.`,
    ITS_CODE_PARAM,
    "invalid_value",
  );
}
