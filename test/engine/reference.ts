// Naive float64 reference implementations of every engine primitive: plain loops, written from the
// definitions (PyTorch / Hugging Face semantics), independent of the native kernels. The gradient checks
// differentiate these by central finite differences.
export type F64 = Float64Array;

/** Deterministic PRNG (mulberry32) for test inputs. */
export { seededRandom as rng } from '../../src/engine/random.js';
export function randn(n: number, r: () => number, s = 1): F64 {
  const o = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    o[i] = s * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return o;
}

/** y[T,O] = x[T,I]·W[O,I]ᵀ + b */
export function linearRef(x: F64, w: F64, b: F64 | null, T: number, I: number, O: number): F64 {
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++)
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[t * I + i] * w[o * I + i];
      y[t * O + o] = s;
    }
  return y;
}

/** y[t,h,:] = x[t,h,:]·W[h] (+ b[h]) for W[H,I,O] */
export function headLinearRef(x: F64, w: F64, b: F64 | null, T: number, H: number, I: number, O: number): F64 {
  const y = new Float64Array(T * H * O);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let o = 0; o < O; o++) {
        let s = b ? b[h * O + o] : 0;
        for (let i = 0; i < I; i++) s += x[(t * H + h) * I + i] * w[(h * I + i) * O + o];
        y[(t * H + h) * O + o] = s;
      }
  return y;
}

export function embeddingRef(table: F64, ids: Int32Array, C: number): F64 {
  const y = new Float64Array(ids.length * C);
  ids.forEach((id, t) => y.set(table.subarray(id * C, (id + 1) * C), t * C));
  return y;
}

export function rmsnormRef(x: F64, w: F64, T: number, C: number, eps: number): F64 {
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * r * w[c];
  }
  return y;
}

export function ropeRef(x: F64, T: number, H: number, D: number, start: number, invFreq: ArrayLike<number>, interleaved: boolean): F64 {
  const y = Float64Array.from(x);
  const half = invFreq.length;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let j = 0; j < half; j++) {
        const ang = (start + t) * invFreq[j];
        const a = (t * H + h) * D + (interleaved ? 2 * j : j), b = (t * H + h) * D + (interleaved ? 2 * j + 1 : j + half);
        y[a] = x[a] * Math.cos(ang) - x[b] * Math.sin(ang);
        y[b] = x[b] * Math.cos(ang) + x[a] * Math.sin(ang);
      }
  return y;
}

/** Causal GQA with a start offset: q[T,NH,D], k/v[Tk,KVH,D]. */
export function attentionRef(q: F64, k: F64, v: F64, T: number, Tk: number, NH: number, KVH: number, D: number, start: number): F64 {
  const out = new Float64Array(T * NH * D);
  const sc = 1 / Math.sqrt(D);
  for (let h = 0; h < NH; h++) {
    const g = Math.floor(h / (NH / KVH));
    for (let i = 0; i < T; i++) {
      const lim = start + i + 1;
      const s = new Float64Array(lim);
      let mx = -Infinity;
      for (let j = 0; j < lim; j++) {
        let d = 0;
        for (let e = 0; e < D; e++) d += q[(i * NH + h) * D + e] * k[(j * KVH + g) * D + e];
        s[j] = d * sc;
        mx = Math.max(mx, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < lim; j++) sum += (s[j] = Math.exp(s[j] - mx));
      for (let j = 0; j < lim; j++)
        for (let e = 0; e < D; e++) out[(i * NH + h) * D + e] += (s[j] / sum) * v[(j * KVH + g) * D + e];
    }
  }
  return out;
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));
export const swigluRef = (g: F64, u: F64): F64 => g.map((x, i) => x * sig(x) * u[i]);
export const siluRef = (x: F64): F64 => x.map((v) => v * sig(v));
export const sigmoidAffineRef = (x: F64, a: number, b: number): F64 => x.map((v) => sig(a * v + b));
export function gateMixRef(attn: F64, mem: F64, gate: F64, D: number): F64 {
  return attn.map((a, i) => {
    const g = gate[Math.floor(i / D)];
    return (1 - g) * a + g * mem[i];
  });
}
/** Mean NLL over targets ≠ −100. */
export function crossEntropyRef(logits: F64, targets: Int32Array, V: number): number {
  let tot = 0, n = 0;
  targets.forEach((tg, t) => {
    if (tg === -100) return;
    let mx = -Infinity;
    for (let j = 0; j < V; j++) mx = Math.max(mx, logits[t * V + j]);
    let s = 0;
    for (let j = 0; j < V; j++) s += Math.exp(logits[t * V + j] - mx);
    tot += mx + Math.log(s) - logits[t * V + tg];
    n++;
  });
  return n ? tot / n : 0;
}

/** Mean over rows of KL(softmax(ref) ‖ softmax(logits)), each row × weights[t] when given. */
export function klRef(logits: F64, ref: F64, T: number, V: number, weights?: Float32Array): number {
  let tot = 0;
  for (let t = 0; t < T; t++) {
    const lsm = (x: F64) => {
      let mx = -Infinity;
      for (let j = 0; j < V; j++) mx = Math.max(mx, x[t * V + j]);
      let s = 0;
      for (let j = 0; j < V; j++) s += Math.exp(x[t * V + j] - mx);
      return Array.from({ length: V }, (_, j) => x[t * V + j] - mx - Math.log(s));
    };
    const lq = lsm(logits), lp = lsm(ref);
    for (let j = 0; j < V; j++) tot += (weights ? weights[t] : 1) * Math.exp(lp[j]) * (lp[j] - lq[j]);
  }
  return tot / T;
}
