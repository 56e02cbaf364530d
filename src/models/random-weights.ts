// Deterministic pseudo-random tensor data for the built-in models. Speed matters (the 0.5B preset
// has ~494M weights) and so does reproducibility (same preset => byte-identical file), so:
// - each tensor has its own PRNG stream, seeded from the preset seed and the tensor's name, so its
//   bytes do not depend on the order or chunking in which tensors are produced;
// - normal samples come from a 65,536-entry inverse-CDF table indexed by 16 random bits: one
//   32-bit draw gives two samples with no log/sqrt/cos per sample, and for F16 the table holds the
//   half-precision bit patterns directly. The quantile grid is far finer than anything a
//   random-weight model can notice.
import { GgmlType, type GgufTensor } from "./gguf-writer.js";

/** Elements produced per chunk (a multiple of the Q8_0 block size). */
const CHUNK_ELEMENTS = 1 << 20;

/** FNV-1a, to turn a tensor name into a seed. */
function hashString(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: tiny state, full 32-bit output, fast under V8 (Math.imul). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pLow = 0.02425;
  if (p < pLow || p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(p < pLow ? p : 1 - p));
    const x =
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    return p < pLow ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary32 -> binary16 bits, round to nearest even (what ggml's converters do). */
export function toHalfBits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the correct rounding (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

interface NormalTables {
  f32: Float32Array;
  f16: Uint16Array;
}
const tableCache = new Map<number, NormalTables>();

function normalTables(std: number): NormalTables {
  let t = tableCache.get(std);
  if (!t) {
    const f32 = new Float32Array(65536);
    const f16 = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) {
      f32[i] = std * normalQuantile((i + 0.5) / 65536);
      f16[i] = toHalfBits(f32[i]!);
    }
    t = { f32, f16 };
    tableCache.set(std, t);
  }
  return t;
}

const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** F16 bit patterns or F32 values looked up from a table of normal samples, two per 32-bit draw. */
function* normalFromTable(n: number, next: () => number, table: Uint16Array | Float32Array): Generator<Uint8Array> {
  const out =
    table instanceof Uint16Array
      ? new Uint16Array(Math.min(n, CHUNK_ELEMENTS))
      : new Float32Array(Math.min(n, CHUNK_ELEMENTS));
  const bytes = new Uint8Array(out.buffer);
  for (let done = 0; done < n; ) {
    const m = Math.min(out.length, n - done);
    let i = 0;
    for (; i + 1 < m; i += 2) {
      const r = next();
      out[i] = table[r & 0xffff]!;
      out[i + 1] = table[r >>> 16]!;
    }
    if (i < m) out[i] = table[next() & 0xffff]!;
    done += m;
    yield bytes.subarray(0, m * out.BYTES_PER_ELEMENT);
  }
}

/** Q8_0 as ggml's reference quantizer lays it out: per 32 values, an F16 scale d = max|x|/127, then round(x/d) as int8. */
function* normalQ8_0(n: number, next: () => number, table: Float32Array): Generator<Uint8Array> {
  const blocksPerChunk = CHUNK_ELEMENTS / 32;
  const out = new Uint8Array(blocksPerChunk * 34);
  const x = new Float32Array(32);
  for (let done = 0; done < n; ) {
    const blocks = Math.min(blocksPerChunk, (n - done) / 32);
    let o = 0;
    for (let b = 0; b < blocks; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j += 2) {
        const r = next();
        const v0 = table[r & 0xffff]!;
        const v1 = table[r >>> 16]!;
        x[j] = v0;
        x[j + 1] = v1;
        const a0 = Math.abs(v0);
        const a1 = Math.abs(v1);
        if (a0 > amax) amax = a0;
        if (a1 > amax) amax = a1;
      }
      const d = amax / 127;
      const id = d !== 0 ? 1 / d : 0;
      const h = toHalfBits(d);
      out[o] = h & 0xff;
      out[o + 1] = h >>> 8;
      for (let j = 0; j < 32; j++) out[o + 2 + j] = Math.round(x[j]! * id) & 0xff;
      o += 34;
    }
    done += blocks * 32;
    yield out.subarray(0, o);
  }
}

function* constant(n: number, type: GgmlType, value: number): Generator<Uint8Array> {
  if (type === GgmlType.Q8_0) throw new Error("constant tensors are stored as F32 or F16");
  const width = type === GgmlType.F32 ? 4 : 2;
  const out = new Uint8Array(Math.min(n, CHUNK_ELEMENTS) * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < out.length / width; i++) {
    if (type === GgmlType.F32) view.setFloat32(i * 4, value, true);
    else view.setUint16(i * 2, toHalfBits(value), true);
  }
  for (let done = 0; done < n; ) {
    const m = Math.min(out.length / width, n - done);
    done += m;
    yield out.subarray(0, m * width);
  }
}

/** A tensor of N(0, std²) samples, reproducible from (seed, name). */
export function randomNormalTensor(
  name: string,
  shape: readonly number[],
  type: GgmlType,
  std: number,
  seed: number,
): GgufTensor {
  return {
    name,
    shape,
    type,
    data: () => {
      const n = elementCount(shape);
      const next = mulberry32(hashString(name, seed));
      const tables = normalTables(std);
      if (type === GgmlType.F16) return normalFromTable(n, next, tables.f16);
      if (type === GgmlType.F32) return normalFromTable(n, next, tables.f32);
      return normalQ8_0(n, next, tables.f32);
    },
  };
}

/** A tensor filled with one value (norm weights 1.0, biases 0). */
export function constantTensor(name: string, shape: readonly number[], type: GgmlType, value: number): GgufTensor {
  return { name, shape, type, data: () => constant(elementCount(shape), type, value) };
}
