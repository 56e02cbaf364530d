// The writer on its own: a small file with every metadata kind, read back by node-llama-cpp's GGUF
// parser, and the bytes of the F16 / Q8_0 encoders checked by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { GgmlType, gguf, ggufFileSize, writeGguf, type GgufValue } from "../../src/models/gguf-writer.js";
import { constantTensor, randomNormalTensor, toHalfBits } from "../../src/models/random-weights.js";

test("toHalfBits rounds like IEEE binary16", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [1e9, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000],
    [3 * 2 ** -25, 0x0002],
    [2 ** -14, 0x0400],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [value, bits] of cases) assert.equal(toHalfBits(value), bits, `toHalfBits(${value})`);
  assert.equal(toHalfBits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(toHalfBits(NaN) & 0x03ff, 0);
});

test("a written file parses back with its metadata, tensor infos and aligned offsets", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "lavash-gguf-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, "small.gguf");
  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gguf.str("llama")],
    ["general.name", gguf.str("écrit ✓")],
    ["test.u32", gguf.u32(4_000_000_000)],
    ["test.i32", gguf.i32(-7)],
    ["test.f32", gguf.f32(0.5)],
    ["test.bool", gguf.bool(true)],
    ["test.u64", gguf.u64(2n ** 40n)],
    ["test.strings", gguf.strings(["a", "", "日本"])],
    ["test.i32s", gguf.i32s(Int32Array.from([1, -2, 3]))],
    ["test.f32s", gguf.f32s([0.25, -1])],
  ]);
  const tensors = [
    constantTensor("ones", [3], GgmlType.F32, 1),
    randomNormalTensor("f16", [5, 3], GgmlType.F16, 0.02, 1),
    randomNormalTensor("q8", [64, 2], GgmlType.Q8_0, 0.02, 1),
  ];
  const fractions: number[] = [];
  await writeGguf(path, metadata, tensors, { onProgress: (f) => fractions.push(f) });

  assert.deepEqual(await readdir(dir), ["small.gguf"], "no temp file is left behind");
  assert.equal((await stat(path)).size, ggufFileSize(metadata, tensors));
  assert.equal(fractions.at(-1), 1);

  const info = await readGgufFileInfo(path, { logWarnings: false });
  assert.equal(info.version, 3);
  const m = info.metadata as unknown as Record<string, Record<string, unknown>>;
  assert.equal(m.general!.name, "écrit ✓");
  assert.equal(m.general!.alignment, 32);
  assert.equal(m.test!.u32, 4_000_000_000);
  assert.equal(m.test!.i32, -7);
  assert.equal(m.test!.f32, 0.5);
  assert.equal(m.test!.bool, true);
  assert.equal(BigInt(m.test!.u64 as number | bigint), 2n ** 40n);
  assert.deepEqual(m.test!.strings, ["a", "", "日本"]);
  assert.deepEqual(m.test!.i32s, [1, -2, 3]);
  assert.deepEqual(m.test!.f32s, [0.25, -1]);

  const ti = info.tensorInfo!;
  assert.deepEqual(
    ti.map((x) => [x.name, x.dimensions.map(Number), x.ggmlType]),
    [
      ["ones", [3], GgmlType.F32],
      ["f16", [5, 3], GgmlType.F16],
      ["q8", [64, 2], GgmlType.Q8_0],
    ],
  );
  assert.deepEqual(
    ti.map((x) => Number(x.offset)),
    [0, 32, 64],
  );

  const bytes = await readFile(path);
  const at = (i: number): number => Number(ti[i]!.fileOffset);
  assert.equal(at(0) % 32, 0);
  assert.deepEqual(
    [0, 1, 2].map((k) => bytes.readFloatLE(at(0) + 4 * k)),
    [1, 1, 1],
  );

  // Q8_0 block: F16 scale d = max|x| / 127, then 32 int8 values, one of which is ±127.
  const q = at(2);
  const d = halfToFloat(bytes.readUInt16LE(q));
  assert.ok(d > 0 && d < 0.001, `scale ${d}`);
  const qs = [...bytes.subarray(q + 2, q + 34)].map((b) => (b << 24) >> 24);
  assert.equal(Math.max(...qs.map(Math.abs)), 127);
  const values = qs.map((v) => v * d);
  const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
  assert.ok(std > 0.005 && std < 0.05, `std ${std}`);
});

test("a failing tensor leaves neither the target nor a temp file", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "lavash-gguf-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const short = { name: "short", shape: [8], type: GgmlType.F32, data: () => [new Uint8Array(4)] };
  await assert.rejects(writeGguf(join(dir, "bad.gguf"), new Map(), [short]), /produced 4 bytes, expected 32/);
  assert.deepEqual(await readdir(dir), []);
});

function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
