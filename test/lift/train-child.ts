// Child process for the resume test: trains a LoRA adapter on stories260K with a checkpoint after every
// step, then writes the final adapter parameters to OUT. Killed with SIGKILL mid-run and started again,
// it must resume from the checkpoint and end with exactly the same parameters as an uninterrupted run.
// usage: node --import tsx test/lift/train-child.ts MODEL CKPT_DIR OUT [stepDelayMs]
import { writeFileSync } from 'node:fs';
import { loadModelFromPath } from '../../src/model/load.js';
import { LoraAdapter, ALL_LINEAR } from '../../src/adapters/lora.js';
import { train, type TrainSample } from '../../src/lift/trainer.js';

const [modelPath, ckpt, out, delay] = process.argv.slice(2);
const { model, tokenizer } = loadModelFromPath(modelPath);
const text = 'Lily had a dog called Biscuit. Biscuit liked to run in the park and chase red balls. One day Biscuit found a shiny key under a tree.';
const ids = tokenizer.encode(text, { bos: true });
const samples: TrainSample[] = [0, 8, 16].map((o) => {
  const x = ids.slice(o, o + 24);
  return { input: x.slice(0, -1), labels: x.slice(1) };
});
const lora = new LoraAdapter(model, { r: 4, lora_alpha: 8, target_modules: ALL_LINEAR, seed: 3 });
await train(model, lora, [{ name: 'segments', epochs: 4, samples }, { name: 'segments+qa', epochs: 2, samples }], {
  lr: 5e-3,
  batchSize: 2,
  seed: 11,
  checkpointDir: ckpt,
  checkpointEvery: 1,
  onEvent: (e) => {
    if (e.type === 'step') {
      process.stdout.write(`step ${e.step}\n`);
      if (delay) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(delay));
    }
  },
});
const flat = lora.parameters().flatMap((p) => Array.from(p.f32()));
writeFileSync(out, Buffer.from(Float32Array.from(flat).buffer));
process.stdout.write('done\n');
