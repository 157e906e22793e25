// Model and adapter loading for the subcommands: a local path (llama2.c .bin, .gguf, Hugging Face folder) or a
// Hub repo id resolved through the Hugging Face cache (downloads with progress, HF_HUB_OFFLINE honoured).
import { existsSync } from 'node:fs';
import { Option } from 'commander';
import { loadModelFromPath, type LoadedModel } from '../model/load.js';
import { parseModelSpec, resolveModelFiles } from '../io/hub.js';
import { isObject, isString, jsonField, readJsonObject } from '../io/json-file.js';
import { loadAdapter, type Adapter, type LiftManifest } from '../adapters/files.js';
import { progress, type Progress } from './progress.js';
import { log } from './io.js';
import { COMPUTE_MODES, type ComputeMode } from '../engine/index.js';

export type { ComputeMode };

/** --compute for every command that loads a model to run it (absorb, ask, chat, generate, eval). */
export function computeOption(): Option {
  return new Option('--compute <mode>', "the frozen weights' matrix products: fp32, bf16 (weights held in bf16, on the CPU's AVX-512 BF16 units) or auto (bf16 where the CPU has them and the weights are f32/f16/bf16)")
    .choices([...COMPUTE_MODES])
    .default('fp32');
}

/** A local path, or an `org/name` Hub repo resolved through the Hugging Face cache (downloading if needed). */
export async function loadModelForCli(spec: string, tokenizer?: string, compute: ComputeMode = 'fp32'): Promise<LoadedModel> {
  const loaded = await loadModelSpec(spec, tokenizer, compute);
  if (loaded.computeNote) log(loaded.computeNote); // auto fell back to fp32: one line saying why
  return loaded;
}

async function loadModelSpec(spec: string, tokenizer: string | undefined, compute: ComputeMode): Promise<LoadedModel> {
  const hint = 'pass --model a llama2.c .bin, a .gguf file, a Hugging Face model folder (config.json, tokenizer.json, *.safetensors) or a Hub repo id like org/name';
  let parsed: ReturnType<typeof parseModelSpec>;
  try {
    parsed = parseModelSpec(spec);
  } catch (e) {
    throw new Error(`model not found: ${(e as Error).message}; ${hint}`);
  }
  if (tokenizer !== undefined && !existsSync(tokenizer)) throw new Error(`tokenizer not found: ${tokenizer} (--tokenizer takes a llama2.c tokenizer file)`);
  if (parsed.kind === 'local') {
    if (!existsSync(parsed.path)) throw new Error(`model not found: ${parsed.path} does not exist; ${hint}`);
    return loadModelFromPath(parsed.path, { tokenizer, compute });
  }
  // Hub: a Hugging Face layout (config, tokenizer, one safetensors file or an index of shards).
  // One progress bar (with ETA) per downloaded file, in kB.
  const bars = new Map<string, Progress>();
  const onProgress = ({ file, loaded, total }: { file: string; loaded: number; total: number }): void => {
    let bar = bars.get(file);
    if (!bar) bars.set(file, (bar = progress(`downloading ${file}`, Math.max(1, Math.round(total / 1e3)))));
    bar.update(Math.round(loaded / 1e3), 'kB');
    if (loaded === total) bar.stop(`downloaded ${file} (${(total / 1e6).toFixed(1)} MB)`);
  };
  const r = await resolveModelFiles(spec, ['config.json', 'tokenizer.json'], {
    optional: ['tokenizer_config.json', 'generation_config.json', 'model.safetensors', 'model.safetensors.index.json'],
    onProgress,
  });
  const index = r.files['model.safetensors.index.json'];
  if (index) {
    const map = jsonField<Record<string, unknown>>(index, readJsonObject(index, 'a sharded checkpoint index {weight_map}'), 'weight_map', isObject, 'an object {tensor name: shard file}');
    const shards = [...new Set(Object.values(map).map((f) => jsonField<string>(index, { shard: f }, 'shard', isString, 'shard file names (strings) in weight_map')))];
    await resolveModelFiles(spec, shards, { onProgress });
  } else if (!r.files['model.safetensors']) {
    throw new Error(`model not found: ${spec} has neither model.safetensors nor model.safetensors.index.json; ${hint}`);
  }
  return loadModelFromPath(r.dir, { id: spec, revision: r.commit ?? null, compute });
}

/** Loads an adapter folder (written by `lift absorb`, or PEFT + a LIFT manifest) onto the loaded model. */
export function loadAdapterForCli(dir: string, loaded: LoadedModel): { adapter: Adapter; manifest: LiftManifest } {
  if (!existsSync(dir)) throw new Error(`adapter not found: ${dir} does not exist (lift absorb --out writes one)`);
  return loadAdapter(dir, { model: loaded.model, id: loaded.id, revision: loaded.revision });
}
