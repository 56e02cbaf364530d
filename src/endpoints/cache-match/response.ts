// The body of POST /v1/cache/match.

export interface CacheMatchResponse {
  model: string;
  /** The prompt's tokens (summed over a legacy request's prompts), as the request would evaluate them. */
  prompt_tokens: number;
  /** Of those, the ones whose KV state the request, sent now, would reuse (its usage's cached_tokens). */
  cached_tokens: number;
}

export function buildCacheMatchResponse(model: string, promptTokens: number, cachedTokens: number): CacheMatchResponse {
  return { model, prompt_tokens: promptTokens, cached_tokens: cachedTokens };
}
