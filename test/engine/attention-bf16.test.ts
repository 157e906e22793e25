// Attention's products on the bf16 units (native/attention-bf16.cc, AttentionOptions.bf16) against the fp32
// kernels and a float64 reference (test/engine/reference.ts). Rounding both operands of a product to bf16 gives
// each product a relative error of about 2⁻⁸ (u = 2⁻⁹ per operand); summed over many terms of mixed sign the
// output's relative (Frobenius) error is of that order: measured 1.7e-3 … 3.6e-3 on these shapes. Bound: 1e-2.
// It must also differ from fp32 (> 1e-5): the flag reaches the bf16 kernels rather than being dropped.
// Shapes: GQA ratios 1–3, head dims 8, 10 (odd pairs), 64, 128 (two 64-column strips), query blocks crossing 64
// rows, a KV-cache start, packed samples and a shared prefix (the three ways training calls attention).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Tape, attention, native, cpuFeatures } from '../../src/engine/index.js';
import { seededRandom } from '../../src/adapters/init.js';
import { attentionRef } from './reference.js';

const hasUnits = cpuFeatures().bf16;
const skip = !hasUnits && 'no AVX-512 BF16 units';

interface Case { T: number; Tk: number; NH: number; KVH: number; D: number; start: number; offsets?: number[]; prefix?: number }

/** out, dq, dk, dv of attention on seeded inputs, with the upstream gradient g. */
function run(c: Case, bf16: boolean): { out: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array; q: Float32Array; k: Float32Array; v: Float32Array } {
  const r = seededRandom(11);
  const rand = (n: number) => Float32Array.from({ length: n }, () => 2 * r() - 1);
  const qa = rand(c.T * c.NH * c.D), ka = rand(c.Tk * c.KVH * c.D), va = rand(c.Tk * c.KVH * c.D), g = rand(c.T * c.NH * c.D);
  const q = Tensor.from(qa, [c.T, c.NH * c.D], { requiresGrad: true });
  const k = Tensor.from(ka, [c.Tk, c.KVH * c.D], { requiresGrad: true });
  const v = Tensor.from(va, [c.Tk, c.KVH * c.D], { requiresGrad: true });
  const tape = new Tape();
  try {
    const offsets = c.offsets ? Int32Array.from(c.offsets) : undefined;
    const out = tape.record(() => attention(q, k, v, { heads: c.NH, kvHeads: c.KVH, start: c.start, offsets, prefix: c.prefix, bf16 }));
    const o = Float32Array.from(out.f32());
    tape.backward(out, g);
    return { out: o, dq: Float32Array.from(q.grad!.f32()), dk: Float32Array.from(k.grad!.f32()), dv: Float32Array.from(v.grad!.f32()), q: qa, k: ka, v: va };
  } finally {
    tape.dispose();
    for (const t of [q, k, v]) t.dispose();
  }
}

function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let n = 0, d = 0;
  for (let i = 0; i < ref.length; i++) n += (a[i] - ref[i]) ** 2, d += ref[i] ** 2;
  return Math.sqrt(n / d);
}

const CASES: Case[] = [
  { T: 150, Tk: 150, NH: 4, KVH: 2, D: 64, start: 0 },
  { T: 70, Tk: 100, NH: 3, KVH: 1, D: 8, start: 30 },
  { T: 130, Tk: 130, NH: 2, KVH: 2, D: 128, start: 0 },
  { T: 65, Tk: 65, NH: 3, KVH: 3, D: 10, start: 0 },
  { T: 200, Tk: 200, NH: 4, KVH: 2, D: 64, start: 0, offsets: [0, 70, 71, 200] },
  { T: 230, Tk: 230, NH: 4, KVH: 2, D: 64, start: 0, offsets: [0, 80, 150, 230], prefix: 80 },
];

for (const c of CASES) {
  const name = `T=${c.T} Tk=${c.Tk} NH=${c.NH} KVH=${c.KVH} D=${c.D} start=${c.start}${c.offsets ? ` offsets=[${c.offsets}]` : ''}${c.prefix ? ` prefix=${c.prefix}` : ''}`;
  test(`bf16 attention ${name}: output and gradients within bf16 rounding of fp32`, { skip }, () => {
    const f = run(c, false), b = run(c, true);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) {
      const e = relErr(b[key], f[key]);
      assert.ok(e < 1e-2, `${key}: relative error ${e.toExponential(2)} against fp32`);
      assert.ok(e > 1e-5, `${key}: identical to fp32 (${e.toExponential(2)}): the bf16 kernels did not run`);
    }
    if (!c.offsets) {
      const ref = attentionRef(Float64Array.from(f.q), Float64Array.from(f.k), Float64Array.from(f.v), c.T, c.Tk, c.NH, c.KVH, c.D, c.start);
      assert.ok(relErr(b.out, ref) < 1e-2, `out against float64: ${relErr(b.out, ref).toExponential(2)}`);
      assert.ok(relErr(f.out, ref) < 1e-5, `fp32 out against float64: ${relErr(f.out, ref).toExponential(2)}`);
    }
  });
}

test('bf16 attention: 1 and 2 threads agree within fp32 summation (each count is reproducible)', { skip }, () => {
  const c = CASES[0];
  try {
    native.setThreads(1);
    const one = run(c, true);
    native.setThreads(2);
    const two = run(c, true);
    for (const key of ['out', 'dq', 'dk', 'dv'] as const) assert.ok(relErr(two[key], one[key]) < 1e-6, key);
  } finally {
    native.setThreads(1);
  }
});

test('without the bf16 units the bf16 attention call is a clear error, not an illegal instruction', () => {
  const saved = process.env.LIFT_CPU_FEATURES;
  process.env.LIFT_CPU_FEATURES = '-avx512bf16';
  try {
    const z = (n: number) => new Float32Array(n);
    assert.throws(() => native.attentionForward(z(64), z(64), z(64), z(64), z(1), 1, 1, 1, 1, 64, 0, 0.125, true), /attention: bf16 products need the AVX-512 BF16 units/);
    assert.throws(() => native.attentionPackedBackward(z(64), z(64), z(64), z(64), z(64), z(1), null, null, null, Int32Array.from([0, 1]), 1, 1, 64, 0.125, true), /BF16 units/);
  } finally {
    if (saved === undefined) delete process.env.LIFT_CPU_FEATURES;
    else process.env.LIFT_CPU_FEATURES = saved;
  }
});
