// AdamW with global grad-norm clipping and a guard against non-finite gradients (a NaN step is skipped
// and reported, never written into the weights). Defaults are LIFT §5's: β = (0.9, 0.98), ε = 1e-8,
// weight decay 1e-4, clip 1.0.
import { native } from './native.js';
import { Tensor, untracked } from './tensor.js';

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global L2 norm limit for the gradients; 0 or undefined = no clipping. */
  clip?: number;
}

/** LIFT §5's AdamW (docs/method.md): β = (0.9, 0.98), ε = 1e-8, weight decay 1e-4, clip 1.0. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 1e-4, clip: 1.0 } as const;

/** Every AdamW setting, the defaults where `o` leaves one unset (or undefined); other fields of `o` are ignored. */
export function adamwSettings(o: AdamWOptions): Required<AdamWOptions> {
  const d = ADAMW_DEFAULTS;
  return { lr: o.lr, beta1: o.beta1 ?? d.beta1, beta2: o.beta2 ?? d.beta2, eps: o.eps ?? d.eps, weightDecay: o.weightDecay ?? d.weightDecay, clip: o.clip ?? d.clip };
}

export interface StepReport {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** False when the step was skipped because a gradient was NaN/Inf. */
  applied: boolean;
  nonFinite: string[];
}

export class AdamW {
  readonly params: Tensor[];
  readonly opts: Required<AdamWOptions>;
  /** Steps taken (bias correction uses it). */
  step = 0;
  readonly m: Tensor[];
  readonly v: Tensor[];

  constructor(params: Tensor[], opts: AdamWOptions) {
    this.params = params;
    this.opts = adamwSettings(opts);
    this.m = untracked(() => params.map((p) => Tensor.zeros(p.shape, { name: p.name + '.adam_m' })));
    this.v = untracked(() => params.map((p) => Tensor.zeros(p.shape, { name: p.name + '.adam_v' })));
  }

  /** Clips, checks and applies one update from the accumulated .grad buffers (missing grads count as 0). */
  stepWith(lr = this.opts.lr): StepReport {
    const nonFinite = findNonFinite(this.params.map((p) => [p.name, p.grad]));
    let sq = 0;
    for (const p of this.params) if (p.grad) sq += native.sumSquares(p.grad.f32());
    const gradNorm = Math.sqrt(sq);
    if (nonFinite.length > 0) return { gradNorm, applied: false, nonFinite };
    const { clip, beta1, beta2, eps, weightDecay } = this.opts;
    // torch.nn.utils.clip_grad_norm_: scale by clip / (norm + 1e-6) when norm exceeds clip.
    const s = clip > 0 && gradNorm > clip ? clip / (gradNorm + 1e-6) : 1;
    this.step++;
    this.params.forEach((p, i) => {
      const g = p.gradBuffer();
      if (s !== 1) native.scale(g.f32(), s);
      native.adamw(p.f32(), g.f32(), this.m[i].f32(), this.v[i].f32(), lr, beta1, beta2, eps, weightDecay, this.step);
    });
    return { gradNorm, applied: true, nonFinite };
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad?.f32().fill(0);
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/** Names of the tensors (or the loss) holding NaN or ±Inf; empty when all finite. */
export function findNonFinite(entries: Iterable<[string, Tensor | null | number]>): string[] {
  const bad: string[] = [];
  for (const [name, t] of entries) {
    if (t === null) continue;
    if (typeof t === 'number') {
      if (!Number.isFinite(t)) bad.push(name);
    } else if (native.countNonFinite(t.f32()) > 0) bad.push(name);
  }
  return bad;
}
