// RoPE inverse frequencies, with rope_scaling applied (transformers' modeling_rope_utils.py semantics),
// computed in float32 like Hugging Face and llama2.c: invFreq[j] = 1 / theta^(2j / D).
import type { LlamaConfig } from './config.js';

export function ropeInvFreq(c: Pick<LlamaConfig, 'head_dim' | 'rope_theta' | 'rope_scaling'>): Float32Array {
  const D = c.head_dim;
  const f = Float32Array.from({ length: D / 2 }, (_, j) => 1 / Math.fround(Math.pow(c.rope_theta, Math.fround((2 * j) / D))));
  const s = c.rope_scaling;
  if (!s || s.rope_type === 'default') return f;
  if (s.rope_type === 'linear') return f.map((x) => x / s.factor);
  // llama3: long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
  const lowWave = s.original_max_position_embeddings / s.low_freq_factor;
  const highWave = s.original_max_position_embeddings / s.high_freq_factor;
  return f.map((freq) => {
    const wave = (2 * Math.PI) / freq;
    if (wave < highWave) return freq;
    if (wave > lowWave) return freq / s.factor;
    const smooth = (s.original_max_position_embeddings / wave - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1 - smooth) * (freq / s.factor) + smooth * freq;
  });
}
