// Logprobs under the model's RAW distribution (before temperature, penalties, biases, top-p/k),
// as vLLM reports them by default. A request's own sampler transforms the candidates in place,
// so scoring uses separate samplers with nothing in their chain:
// - a greedy one, asked for the logits of the scored token and of its own pick (the argmax) plus
//   the sum of exp(logit - max): logprob = logit - max - ln(sum), one pass over the vocabulary,
//   no sort;
// - only when alternatives are wanted, a top-k one (temperature 1 leaves logits unchanged), whose
//   candidates are the k best, already ordered by llama.cpp's partial sort.
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import type { TokenAlternative, TokenLogprob } from "../types.js";
import { createNativeSampler, type BatchLogitIndex, type NativeContext, type NativeSampler } from "./native.js";
import type { TokenPieces } from "./token-pieces.js";

export class TokenScorer {
  private readonly exact: NativeSampler;
  private readonly best: NativeSampler | null;

  constructor(
    llama: Llama,
    model: LlamaModel,
    private readonly native: NativeContext,
    private readonly pieces: TokenPieces,
    /** How many alternatives to report per position (0..20): the wire's top_logprobs, not sampling's top-k. */
    private readonly alternatives: number,
  ) {
    this.exact = createNativeSampler(llama, model, {});
    // A top-k sampler whose candidates are the `alternatives` best tokens, already ordered.
    this.best =
      alternatives > 0 ? createNativeSampler(llama, model, { topK: alternatives, temperature: 1, seed: 0 }) : null;
  }

  /** Scores `token` at the batch position `index` (whose logits predict it). */
  async score(index: BatchLogitIndex, token: Token): Promise<TokenLogprob> {
    const [argmax, , , logits, weight] = await this.native.sampleToken(
      index,
      this.exact,
      false,
      false,
      [[token], false, false, true, 0],
      true,
    );
    const values = logitPairs(logits ?? []);
    const max = values.get(argmax as number);
    const own = values.get(token);
    if (max === undefined || own === undefined || weight === undefined)
      throw new Error("llama.cpp returned no logits to score with");
    const normalizer = max + Math.log(weight);
    const top: TokenAlternative[] = [];
    if (this.best) {
      const [, , , bestLogits] = await this.native.sampleToken(
        index,
        this.best,
        false,
        false,
        [[], false, false, false, this.alternatives],
        false,
      );
      for (const [t, logit] of logitPairs(bestLogits ?? [])) top.push(this.alternative(t, logit - normalizer));
      top.sort((a, b) => b.logprob - a.logprob);
    }
    return { ...this.alternative(token, own - normalizer), top };
  }

  dispose(): void {
    this.exact.dispose();
    this.best?.dispose();
  }

  private alternative(token: number, logprob: number): TokenAlternative {
    return { token, text: this.pieces.text(token), bytes: this.pieces.bytes(token), logprob };
  }
}

/** The addon's flat [token, value, token, value, ...] as a map (insertion order kept). */
export function logitPairs(flat: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
  return out;
}
