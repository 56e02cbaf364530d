// How one tick's prompt tokens are divided among the sequences still evaluating their prompts.
//
// Rules, in order:
// 1. Chunk boundaries keep the determinism the scheduler promises (see ContextScheduler.start):
//    a prompt never ends with a one-token chunk (unless the whole remainder is one token), so a
//    chunk that is not the last leaves at least two tokens.
// 2. No starvation: while others decode, EVERY prefilling sequence gets tokens in every tick the
//    batch has room for: a small remainder (at most WHOLE_REMAINDER tokens: a chat turn after a
//    reused system prompt, a short request) goes in whole, so requests that arrive together all
//    start in the next decode, as llama-server does; a longer one gets at least MIN_CHUNK.
// 3. What the pacer's allowance has left after those floors goes to the sequences with the fewest
//    tokens left first (ties: request order), which finishes prompts soonest on average; a long
//    prompt still advances by its floor every tick, so the order cannot starve it.
// With nothing decoding there are no streams to protect: the allowance is the whole batch.

/** A remainder this short is evaluated in one chunk whatever the allowance. */
export const WHOLE_REMAINDER = 32;
/** The least a longer remainder advances per tick (two: a chunk never leaves one token behind). */
export const MIN_CHUNK = 2;

/**
 * Prompt tokens for each prefilling sequence this tick, in the order given.
 * `remaining`: each sequence's prompt tokens left (>= 1), in batch order (request, then choice);
 * `room`: batch positions left after the decoding sequences' tokens;
 * `allowance`: prompt tokens the tick may carry beyond the floors (the pacer's or the fixed chunk).
 */
export function planPrefill(remaining: readonly number[], room: number, allowance: number): number[] {
  const counts = remaining.map(() => 0);
  let left = room;
  // Floors, in batch order, while the batch has room.
  for (const [i, rest] of remaining.entries()) {
    const want = rest <= WHOLE_REMAINDER ? rest : MIN_CHUNK;
    const count = fit(Math.min(want, left), rest);
    counts[i] = count;
    left -= count;
  }
  let extra = Math.min(left, allowance - counts.reduce((a, b) => a + b, 0));
  if (extra <= 0) return counts;
  // The rest of the allowance: fewest tokens left first.
  const order = remaining
    .map((_, i) => i)
    .sort((a, b) => remaining[a]! - counts[a]! - (remaining[b]! - counts[b]!) || a - b);
  for (const i of order) {
    if (extra <= 0) break;
    const rest = remaining[i]!;
    const count = fit(Math.min(rest, counts[i]! + extra), rest);
    if (count <= counts[i]!) continue;
    extra -= count - counts[i]!;
    counts[i] = count;
  }
  return counts;
}

/** The largest chunk of at most `count` tokens that is the whole remainder or leaves two or more. */
function fit(count: number, rest: number): number {
  if (count >= rest) return rest;
  return Math.max(0, Math.min(count, rest - 2));
}
