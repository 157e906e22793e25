// The one LoRA the PEFT fixture (scripts/fixtures/peft_reference.py → test/fixtures/peft_lora_stories260k.json) was
// computed from: stories260K's llama2.c file (interleaved q/k rows), LoRA r 4 on all seven projections with seeded
// values, so the test rebuilds it exactly. Changing anything here means regenerating the fixture (see the script).
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { seededRandom } from '../../src/adapters/init.js';
import type { LlamaModel } from '../../src/model/llama.js';

export const PEFT_CASE = {
  model: 'stories260K.bin',
  r: 4,
  lora_alpha: 8,
  seed: 5,
  /** Token ids of a short prompt (BOS first). */
  input_ids: [1, 403, 407, 261, 378, 280, 395, 430, 261, 347, 312, 294, 400, 270, 283, 310],
};

/** The case's adapter on `model`: every A and B entry uniform in ±0.15 from the seed. */
export function peftCaseAdapter(model: LlamaModel): LoraAdapter {
  const lora = new LoraAdapter(model, { r: PEFT_CASE.r, lora_alpha: PEFT_CASE.lora_alpha, target_modules: [...ALL_LINEAR] });
  const rand = seededRandom(PEFT_CASE.seed);
  for (const p of lora.parameters()) p.f32().forEach((_, i, d) => (d[i] = (2 * rand() - 1) * 0.15));
  return lora;
}
