// Seeded randomness for the scaling algorithms: every accept/reject and resampling draw comes from
// a Prng seeded from the request's seed, so a fixed seed reproduces a run exactly (given an engine
// whose own sampling is reproducible).

/** Uniform doubles in [0, 1) from a 32-bit seed (mulberry32). */
export type Prng = () => number;

/** A mulberry32 generator: fast, 32-bit state, good enough for accept/reject and resampling. */
export function createPrng(seed: number): Prng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32's finalizer: a bijective 32-bit mix. */
function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * A 32-bit seed for the independent stream number `index` (≥ 0) under `seed`: distinct indexes give
 * unrelated streams, and the result never equals the parent's own stream by construction. Nest calls
 * for hierarchical streams (e.g. deriveSeed(deriveSeed(seed, step), particle)).
 */
export function deriveSeed(seed: number, index: number): number {
  return mix32(mix32((seed >>> 0) ^ 0x9e3779b9) + Math.imul((index >>> 0) + 1, 0x9e3779b9));
}

/** An integer in [lo, hi] (inclusive) drawn with one call of `rng`. */
export function uniformInt(rng: Prng, lo: number, hi: number): number {
  return lo + Math.min(hi - lo, Math.floor(rng() * (hi - lo + 1)));
}
