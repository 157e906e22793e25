// Small valid inputs for every parser, built once per fuzz process in a temp folder: the fuzz targets mutate
// these (a mutant of a valid file reaches much deeper into a parser than random bytes do). Everything derives
// from a tiny llama2.c checkpoint (dim 8, 2 layers) written here plus ../shared's tok512.bin, converted with
// the project's own writers, so all three model formats describe the same model.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../helpers/shared.js';
import { seededRandom } from '../../src/engine/random.js';
import { Tensor } from '../../src/engine/index.js';
import { convertModel } from '../../src/model/convert.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { LoraAdapter } from '../../src/adapters/lora.js';
import { GatedMemoryAdapter } from '../../src/adapters/gated-memory.js';
import { saveAdapter, MANIFEST_FILE } from '../../src/adapters/files.js';
import { saveCheckpoint, checkpointPath, type TrainerState } from '../../src/lift/checkpoint.js';
import { readGGUF } from '../../src/io/gguf.js';
import { writeSafetensors } from '../../src/io/safetensors.js';

export const TOKENIZER_BIN = (): string => sharedPath('models', 'stories260K', 'tok512.bin');

/** dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len of the tiny llama2.c model. */
const HEADER = [8, 16, 2, 2, 2, 512, 16];

/** Rows of 32 and 64: whole q4_0 blocks, so a quantized conversion keeps them (HEADER's 8-wide rows fall back to F16). */
const QUANT_HEADER = [32, 64, 1, 2, 2, 512, 16];

/** A legacy llama2.c checkpoint with the tiny header and small seeded weights (norms at 1). */
export function tinyLlama2c(header = HEADER): Uint8Array {
  const [dim, hidden, layers, heads, , vocab, seq] = header;
  const hd = dim / heads;
  const parts: [number, number][] = [ // [count, fill kind: 0 random, 1 ones]
    [vocab * dim, 0], [layers * dim, 1], [layers * dim * dim * 4, 0], [layers * dim, 1],
    [layers * hidden * dim * 3, 0], [dim, 1], [seq * hd, 0],
  ];
  const floats = parts.reduce((a, [n]) => a + n, 0);
  const buf = new Uint8Array(28 + floats * 4);
  const dv = new DataView(buf.buffer);
  header.forEach((v, i) => dv.setInt32(i * 4, v, true));
  const rnd = seededRandom(7);
  let o = 28;
  for (const [n, kind] of parts) for (let i = 0; i < n; i++, o += 4) dv.setFloat32(o, kind === 1 ? 1 : (rnd() - 0.5) * 0.2, true);
  return buf;
}

export interface Fixtures {
  dir: string;
  llama2c: { model: string; tokenizer: string; bytes: Uint8Array; tokenizerBytes: Uint8Array };
  gguf: { file: string; bytes: Uint8Array; metadata: Record<string, unknown> };
  /** The same tiny model as a quantized GGUF (q4_0 blocks; the loader keeps them and the kernels read them). */
  ggufQuant: { file: string; bytes: Uint8Array };
  /** Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json. */
  hf: { dir: string; files: Record<string, Uint8Array> };
  /** A LoRA and a Gated Memory adapter folder for the tiny model, plus document.json/document.txt as absorb writes them. */
  adapters: { lora: string; gm: string; files: Record<string, Record<string, Uint8Array>> };
  /** A training checkpoint of the LoRA adapter (trainer.json + state.safetensors) and what loading it needs. */
  checkpoint: { dir: string; fingerprint: string; files: Record<string, Uint8Array>; shapes: { name: string; shape: number[] }[] };
  /** A small safetensors file with F32, F16 and BF16 tensors and metadata. */
  safetensors: { bytes: Uint8Array };
}

const readAll = (dir: string, names: string[]): Record<string, Uint8Array> =>
  Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]));

export function makeFixtures(dir: string): Fixtures {
  mkdirSync(dir, { recursive: true });
  const model = join(dir, 'tiny.bin'), tokenizer = join(dir, 'tok512.bin');
  writeFileSync(model, tinyLlama2c());
  copyFileSync(TOKENIZER_BIN(), tokenizer);
  const ggufFile = join(dir, 'tiny.gguf'), hfDir = join(dir, 'tiny-hf');
  convertModel(model, 'gguf', ggufFile, { tokenizer });
  const ggufQuantFile = join(dir, 'tiny-q4_0.gguf'), quantBin = join(dir, 'tiny32.bin');
  writeFileSync(quantBin, tinyLlama2c(QUANT_HEADER));
  convertModel(quantBin, 'gguf', ggufQuantFile, { tokenizer, type: 'q4_0' });
  convertModel(model, 'hf', hfDir, { tokenizer });
  const hfNames = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

  const loaded = loadModelFromPath(hfDir);
  try {
    const base = { base: { model: loaded.model, id: 'tiny', revision: null } };
    const lora = new LoraAdapter(loaded.model, { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'] });
    const gm = new GatedMemoryAdapter(loaded.model, { memoryMultiplier: 1, init: 'paper', memoryInput: 'head', headLora: { r: 2, alpha: 4 }, seed: 1 });
    const loraDir = join(dir, 'lora.lift'), gmDir = join(dir, 'gm.lift');
    const document = 'Lily had a dog called Biscuit.\n';
    const extra = { 'document.txt': document, 'document.json': JSON.stringify({ title: 'story', context_budget: 64 }) };
    saveAdapter(loraDir, lora, base, { files: extra });
    saveAdapter(gmDir, gm, base, { files: extra });
    const names = (d: string) => [MANIFEST_FILE, 'adapter_model.safetensors', d === loraDir ? 'adapter_config.json' : 'gated_memory_config.json', 'document.json', 'document.txt'];

    const ckDir = join(dir, 'run');
    const params = lora.parameters();
    const zeros = (t: Tensor) => Tensor.zeros([...t.shape], { name: t.name });
    const m = params.map(zeros), v = params.map(zeros);
    const state: TrainerState = {
      fingerprint: 'fuzz-run', stage: 0, epoch: 1, batch: 2, step: 3, seconds: 1.5, nonFiniteSteps: 0,
      losses: [{ stage: 'segments', epoch: 0, step: 1, loss: 2.5, gradNorm: 1, skipped: false }],
    };
    saveCheckpoint(ckDir, params, m, v, state);
    const shapes = params.map((t) => ({ name: t.name, shape: [...t.shape] }));
    for (const t of [...m, ...v]) t.dispose();
    const fixtures: Fixtures = {
      dir,
      llama2c: { model, tokenizer, bytes: new Uint8Array(readFileSync(model)), tokenizerBytes: new Uint8Array(readFileSync(tokenizer)) },
      gguf: { file: ggufFile, bytes: new Uint8Array(readFileSync(ggufFile)), metadata: readGGUF(ggufFile).metadata },
      ggufQuant: { file: ggufQuantFile, bytes: new Uint8Array(readFileSync(ggufQuantFile)) },
      hf: { dir: hfDir, files: readAll(hfDir, hfNames) },
      adapters: { lora: loraDir, gm: gmDir, files: { lora: readAll(loraDir, names(loraDir)), gm: readAll(gmDir, names(gmDir)) } },
      checkpoint: { dir: ckDir, fingerprint: state.fingerprint, files: readAll(checkpointPath(ckDir), ['trainer.json', 'state.safetensors']), shapes },
      safetensors: { bytes: smallSafetensors(join(dir, 'small.safetensors')) },
    };
    lora.dispose();
    gm.dispose();
    return fixtures;
  } finally {
    loaded.model.dispose();
  }
}

function smallSafetensors(file: string): Uint8Array {
  writeSafetensors(file, [
    { name: 'a.weight', dtype: 'F32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
    { name: 'b.weight', dtype: 'F16', shape: [5], data: Float32Array.from([1, -2, 0.5, 65504, 1e-6]) },
    { name: 'c.bias', dtype: 'BF16', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
  ], { format: 'pt', note: 'fuzz' });
  return new Uint8Array(readFileSync(file));
}
