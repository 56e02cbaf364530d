// The host that `hf:` sources download from, and whether it answers: checked before a download so
// that an offline machine fails in seconds with a clear reason rather than deep inside a fetch.

/** Where node-llama-cpp resolves hf: sources: $MODEL_ENDPOINT, $HF_ENDPOINT, else huggingface.co. */
export function huggingFaceEndpoint(): string {
  for (const value of [process.env.MODEL_ENDPOINT, process.env.HF_ENDPOINT]) {
    if (value !== undefined && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)) return value;
  }
  return "https://huggingface.co/";
}

/** Whether the host answers at all (any HTTP status) within the timeout. */
export async function reachable(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, { method: "HEAD", redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
