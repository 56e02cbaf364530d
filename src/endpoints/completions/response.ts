// text_completion bodies. The legacy API uses the same object name for the response and for
// stream chunks (there is no ".chunk" variant).
import {
  SYSTEM_FINGERPRINT,
  newCompletionId,
  toWireUsage,
  unixSeconds,
  type TokenUsage,
  type WireUsage,
} from "../shared/response-fields.js";
import type { WireItsDiagnostics } from "../shared/its/diagnostics.js";
import type { LegacyLogprobs } from "../shared/logprobs.js";

export type CompletionFinishReason = "stop" | "length" | "content_filter";

export interface CompletionChoice {
  text: string;
  index: number;
  logprobs: LegacyLogprobs | null;
  /** null on stream chunks until the choice's last one. */
  finish_reason: CompletionFinishReason | null;
}

export interface Completion {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: CompletionChoice[];
  /** Always on a full response; on chunks only with include_usage (null until the last). */
  usage?: WireUsage | null;
  /** Extension: what an inference-time scaling run (`its`) did; on a stream, the final chunk only. */
  its?: WireItsDiagnostics;
}

export interface CompletionChoiceResult {
  index?: number;
  text: string;
  finishReason: CompletionFinishReason;
  /** legacyLogprobs(...) (with echo, concatLegacyLogprobs of prompt and completion) when requested. */
  logprobs?: LegacyLogprobs | null;
}

export interface CompletionInput {
  id?: string;
  created?: number;
  model: string;
  choices: readonly CompletionChoiceResult[];
  usage: TokenUsage;
  systemFingerprint?: string;
  /** The diagnostics of an `its` run (wireItsDiagnostics). */
  its?: WireItsDiagnostics;
}

export function buildCompletion(input: CompletionInput): Completion & { usage: WireUsage } {
  const completion: Completion & { usage: WireUsage } = {
    id: input.id ?? newCompletionId(),
    object: "text_completion",
    created: input.created ?? unixSeconds(),
    model: input.model,
    system_fingerprint: input.systemFingerprint ?? SYSTEM_FINGERPRINT,
    choices: input.choices.map((c, i) => ({
      text: c.text,
      index: c.index ?? i,
      logprobs: c.logprobs ?? null,
      finish_reason: c.finishReason,
    })),
    usage: toWireUsage(input.usage),
  };
  if (input.its !== undefined) completion.its = input.its;
  return completion;
}

export interface CompletionStreamBuilderOptions {
  id?: string;
  created?: number;
  model: string;
  includeUsage: boolean;
  systemFingerprint?: string;
}

/** Chunks of one streamed legacy completion; no role chunk exists in this API. */
export class CompletionStreamBuilder {
  readonly id: string;
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
  readonly systemFingerprint: string;

  constructor(options: CompletionStreamBuilderOptions) {
    this.id = options.id ?? newCompletionId();
    this.created = options.created ?? unixSeconds();
    this.model = options.model;
    this.includeUsage = options.includeUsage;
    this.systemFingerprint = options.systemFingerprint ?? SYSTEM_FINGERPRINT;
  }

  /** `logprobs` covers exactly this chunk's tokens; its text_offset values keep counting across chunks. */
  textChunk(index: number, text: string, logprobs?: LegacyLogprobs): Completion {
    return this.chunk([{ text, index, logprobs: logprobs ?? null, finish_reason: null }]);
  }

  /** `its`: an `its` run's diagnostics, when this is the stream's final chunk (no usage chunk follows). */
  finishChunk(index: number, reason: CompletionFinishReason, its?: WireItsDiagnostics): Completion {
    const chunk = this.chunk([{ text: "", index, logprobs: null, finish_reason: reason }]);
    if (its !== undefined) chunk.its = its;
    return chunk;
  }

  /** The closing `choices: []` chunk with totals (and an `its` run's diagnostics); null when the client did not ask for usage. */
  usageChunk(usage: TokenUsage, its?: WireItsDiagnostics): Completion | null {
    if (!this.includeUsage) return null;
    const chunk: Completion = { ...this.base(), choices: [], usage: toWireUsage(usage) };
    if (its !== undefined) chunk.its = its;
    return chunk;
  }

  private chunk(choices: CompletionChoice[]): Completion {
    const chunk: Completion = { ...this.base(), choices };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }

  private base(): Omit<Completion, "choices" | "usage"> {
    return {
      id: this.id,
      object: "text_completion",
      created: this.created,
      model: this.model,
      system_fingerprint: this.systemFingerprint,
    };
  }
}
