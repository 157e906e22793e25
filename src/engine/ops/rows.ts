// Row selection: out[R, C] = x[rows[i], :]. Training computes logits only on the rows that carry a loss
// (packed.ts: a contextualized sample supervises its segment, not its context), and the vocabulary
// projection of the others is skipped; backward adds each dOut row back into its source row.
import { Tensor } from '../tensor.js';
import { gradOf, needsGrad, record } from '../tape.js';
import { expectF32, expectRank, fmt } from './shapes.js';

export function gatherRows(x: Tensor, rows: Int32Array): Tensor {
  expectRank('gatherRows', 'x', x, 2);
  expectF32('gatherRows', x);
  const [T, C] = x.shape;
  for (const r of rows) if (!(r >= 0 && r < T)) throw new Error(`gatherRows: row ${r} is outside x ${fmt(x)}`);
  const out = Tensor.empty([rows.length, C]);
  const src = x.f32(), dst = out.f32();
  rows.forEach((r, i) => dst.set(src.subarray(r * C, (r + 1) * C), i * C));
  if (!needsGrad(x)) return out;
  return record('gatherRows', out, () => {
    const dx = gradOf(x), dy = out.grad!.f32();
    rows.forEach((r, i) => {
      for (let c = 0; c < C; c++) dx[r * C + c] += dy[i * C + c];
    });
  });
}
