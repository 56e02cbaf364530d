// Long prompts of a known size for the prefix-cache and fairness scenarios. The text is made of
// common English words that Qwen's byte-level BPE (the built-in models' vocabulary) keeps whole,
// with and without a leading space, and a period after every eleventh word: one token per word
// and per period, so `syntheticText(n)` is n tokens there (a test checks it with the reference
// tokenizer). Other vocabularies give a similar count; the server's usage.prompt_tokens is recorded.

const WORDS = [
  "the",
  "of",
  "and",
  "to",
  "in",
  "is",
  "that",
  "for",
  "it",
  "as",
  "was",
  "with",
  "be",
  "by",
  "on",
  "not",
  "he",
  "this",
  "are",
  "or",
  "his",
  "from",
  "at",
  "which",
  "but",
  "have",
  "an",
  "had",
  "they",
  "you",
  "were",
  "their",
  "one",
  "all",
  "we",
  "can",
  "her",
  "has",
  "there",
  "been",
  "if",
  "more",
  "when",
  "will",
  "would",
  "who",
  "so",
  "no",
  "time",
  "people",
  "water",
  "house",
  "river",
  "city",
  "light",
  "small",
  "large",
  "early",
  "story",
  "letter",
  "road",
  "window",
  "table",
  "green",
  "stone",
  "bridge",
  "winter",
  "summer",
  "night",
  "friend",
  "music",
  "paper",
  "north",
  "south",
  "school",
  "market",
] as const;

const WORDS_PER_SENTENCE = 11;

/** `tokens` tokens (Qwen BPE) of deterministic word salad; a different `seed` gives different text. */
export function syntheticText(tokens: number, seed: number): string {
  let state = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const parts: string[] = [];
  let inSentence = 0;
  for (let i = 0; i < tokens; i++) {
    if (inSentence === WORDS_PER_SENTENCE) {
      parts.push(".");
      inSentence = 0;
      continue;
    }
    // xorshift32: deterministic on every platform.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    parts.push(`${i === 0 ? "" : " "}${WORDS[state % WORDS.length]}`);
    inSentence++;
  }
  return parts.join("");
}

/**
 * A request-unique start: text beginning with it shares its first token with no other request of
 * the run (up to 80 requests; more share one word), so no server can reuse a cached prefix of it.
 * `runId` keeps it from matching an earlier run's request on a long-running server.
 */
export function nonce(runId: number, index: number): string {
  return `${WORDS[index % WORDS.length]}-${index}-${runId}:`;
}

/** The user turns of the prefix scenario: different from each other, a dozen tokens each. */
export function userTurn(index: number): string {
  return `Question ${index + 1}: summarize the text above in ${(index % 5) + 2} short sentences about the ${WORDS[48 + (index % 28)]}.`;
}
