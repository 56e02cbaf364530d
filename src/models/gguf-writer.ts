// A minimal GGUF v3 writer: enough for the built-in random-weight models (scalar and array
// metadata, F32/F16/Q8_0 tensors). The header is built in memory (a few MB with a 152k-token
// vocabulary); tensor data is streamed through a fixed staging buffer because the larger presets
// are hundreds of MB.
import { open, rename, unlink } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { randomBytes } from "node:crypto";

export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

/** ggml tensor type ids (ggml.h `enum ggml_type`). */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Elements per block and bytes per block for each supported tensor type. */
const TYPE_LAYOUT: Record<GgmlType, { blockSize: number; blockBytes: number }> = {
  [GgmlType.F32]: { blockSize: 1, blockBytes: 4 },
  [GgmlType.F16]: { blockSize: 1, blockBytes: 2 },
  [GgmlType.Q8_0]: { blockSize: 32, blockBytes: 34 },
};

/** GGUF metadata value type ids (gguf.h `enum gguf_type`). */
const ValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufScalar =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "u64"; value: bigint }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };

export type GgufArray =
  | { type: "array"; itemType: "string"; value: readonly string[] }
  | { type: "array"; itemType: "i32" | "u32" | "f32"; value: ArrayLike<number> };

export type GgufValue = GgufScalar | GgufArray;

/** Shorthands so metadata tables read as `key: gguf.u32(4)`. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  u64: (value: bigint): GgufValue => ({ type: "u64", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "i32", value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: "array", itemType: "f32", value }),
};

export interface GgufTensor {
  name: string;
  /** GGUF `ne` order: the fastest-varying dimension (columns) first. */
  shape: readonly number[];
  type: GgmlType;
  /**
   * Produces the tensor's bytes in order, in chunks of any size. The writer consumes each chunk
   * before asking for the next, so a generator may refill and re-yield one buffer.
   */
  data: () => Iterable<Uint8Array>;
}

export interface GgufWriteOptions {
  alignment?: number;
  /** Called as bytes reach the file; fraction is of the whole file. */
  onProgress?: (fraction: number) => void;
  /** Bytes buffered per write call. */
  chunkBytes?: number;
}

export function tensorByteSize(shape: readonly number[], type: GgmlType): number {
  const { blockSize, blockBytes } = TYPE_LAYOUT[type];
  const elements = shape.reduce((a, b) => a * b, 1);
  // ggml quantizes whole rows: a row that is not a multiple of the block size cannot be stored.
  if (shape[0]! % blockSize !== 0) {
    throw new Error(`row length ${shape[0]} is not a multiple of ${blockSize} for type ${type}`);
  }
  return (elements / blockSize) * blockBytes;
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

/** Grows as needed; only the header goes through it. */
class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 20);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u64(v: bigint | number): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.u64(n);
    this.reserve(n);
    this.buf.write(s, this.length, "utf8");
    this.length += n;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case "u32":
      sink.u32(ValueType.UINT32);
      sink.u32(v.value);
      return;
    case "i32":
      sink.u32(ValueType.INT32);
      sink.i32(v.value);
      return;
    case "u64":
      sink.u32(ValueType.UINT64);
      sink.u64(v.value);
      return;
    case "f32":
      sink.u32(ValueType.FLOAT32);
      sink.f32(v.value);
      return;
    case "bool":
      sink.u32(ValueType.BOOL);
      sink.u8(v.value ? 1 : 0);
      return;
    case "string":
      sink.u32(ValueType.STRING);
      sink.str(v.value);
      return;
    case "array": {
      sink.u32(ValueType.ARRAY);
      if (v.itemType === "string") {
        sink.u32(ValueType.STRING);
        sink.u64(v.value.length);
        for (const s of v.value) sink.str(s);
        return;
      }
      const itemType = { i32: ValueType.INT32, u32: ValueType.UINT32, f32: ValueType.FLOAT32 }[v.itemType];
      const put = { i32: sink.i32, u32: sink.u32, f32: sink.f32 }[v.itemType].bind(sink);
      sink.u32(itemType);
      sink.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) put(v.value[i]!);
      return;
    }
  }
}

interface Layout {
  header: Buffer;
  /** Offset of each tensor from the start of the data section. */
  offsets: number[];
  sizes: number[];
  dataStart: number;
  totalBytes: number;
}

function layout(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[], alignment: number): Layout {
  const meta = new Map(metadata);
  const declared = meta.get("general.alignment");
  if (declared === undefined) meta.set("general.alignment", gguf.u32(alignment));
  else if (declared.type !== "u32" || declared.value !== alignment) {
    throw new Error("general.alignment in the metadata differs from the writer's alignment");
  }

  const sizes = tensors.map((t) => tensorByteSize(t.shape, t.type));
  const offsets: number[] = [];
  let cursor = 0;
  for (const size of sizes) {
    offsets.push(cursor);
    cursor = alignUp(cursor + size, alignment);
  }

  const sink = new ByteSink();
  sink.u32(0x46554747); // "GGUF" read as a little-endian u32
  sink.u32(GGUF_VERSION);
  sink.u64(tensors.length);
  sink.u64(meta.size);
  for (const [key, value] of meta) {
    sink.str(key);
    writeValue(sink, value);
  }
  tensors.forEach((t, i) => {
    sink.str(t.name);
    sink.u32(t.shape.length);
    for (const d of t.shape) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offsets[i]!);
  });
  const dataStart = alignUp(sink.length, alignment);
  sink.zeros(dataStart - sink.length);
  // The last tensor is padded too, as ggml's writer does, so the file size is a multiple of the alignment.
  return { header: sink.bytes(), offsets, sizes, dataStart, totalBytes: dataStart + cursor };
}

/** Size the file will have, without generating it. */
export function ggufFileSize(
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensor[],
  alignment = DEFAULT_ALIGNMENT,
): number {
  return layout(metadata, tensors, alignment).totalBytes;
}

/**
 * Writes a GGUF file to `path` via a temporary file in the same directory, renamed into place
 * only when complete and flushed: a reader (or a concurrent generator) never sees a partial file.
 */
export async function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensor[],
  options: GgufWriteOptions = {},
): Promise<void> {
  const alignment = options.alignment ?? DEFAULT_ALIGNMENT;
  const plan = layout(metadata, tensors, alignment);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fh = await open(tmp, "w");
  let done = false;
  try {
    const staging = Buffer.allocUnsafe(options.chunkBytes ?? 8 << 20);
    let filled = 0;
    let written = 0;
    const flush = async (): Promise<void> => {
      let off = 0;
      while (off < filled) off += (await fh.write(staging, off, filled - off)).bytesWritten;
      written += filled;
      filled = 0;
      options.onProgress?.(written / plan.totalBytes);
    };
    const put = async (bytes: Uint8Array): Promise<void> => {
      let off = 0;
      while (off < bytes.length) {
        const n = Math.min(bytes.length - off, staging.length - filled);
        staging.set(bytes.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === staging.length) await flush();
      }
    };
    const pad = async (n: number): Promise<void> => {
      if (n > 0) await put(new Uint8Array(n));
    };

    await put(plan.header);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      let produced = 0;
      for (const chunk of t.data()) {
        produced += chunk.length;
        if (produced > plan.sizes[i]!) break;
        await put(chunk);
      }
      if (produced !== plan.sizes[i]) {
        throw new Error(`tensor ${t.name} produced ${produced} bytes, expected ${plan.sizes[i]}`);
      }
      const end = plan.offsets[i]! + plan.sizes[i]!;
      await pad(alignUp(end, alignment) - end);
    }
    await flush();
    if (written !== plan.totalBytes) throw new Error(`wrote ${written} bytes, expected ${plan.totalBytes}`);
    // Flushed before the rename so that after a crash the final name holds a whole file or nothing.
    await fh.datasync();
    await fh.close();
    await rename(tmp, path);
    done = true;
  } finally {
    if (!done) {
      await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    }
  }
}
