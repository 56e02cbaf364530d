/** Small seeded PRNG (mulberry32, the one the scaling algorithms draw from): reproducible test data, floats in [0, 1). */
export { createPrng as rng } from "../../src/its/random.js";
