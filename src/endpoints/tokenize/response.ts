// The bodies of POST /tokenize and POST /detokenize, with vLLM's field names.

export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
  /** null unless asked for with return_token_strs (vLLM sends the null too). */
  token_strs: string[] | null;
}

export interface DetokenizeResponse {
  prompt: string;
}

export function buildTokenizeResponse(
  tokens: number[],
  maxModelLen: number,
  tokenStrs: string[] | null = null,
): TokenizeResponse {
  return { count: tokens.length, max_model_len: maxModelLen, tokens, token_strs: tokenStrs };
}

export function buildDetokenizeResponse(prompt: string): DetokenizeResponse {
  return { prompt };
}
