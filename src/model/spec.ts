// A model as the CLI, the server and the worker name one: a local path (llama2.c .bin, .gguf, Hugging Face
// folder) or a Hub repo id resolved through the Hugging Face cache (downloads reported to `onDownload`,
// HF_HUB_OFFLINE honoured). src/cli/model.ts shows the downloads as progress bars.
import { existsSync } from 'node:fs';
import { loadModelFromPath, type LoadedModel } from './load.js';
import { parseModelSpec, resolveModelFiles } from '../io/hub.js';
import { isObject, isString, jsonField, readJsonObject } from '../io/json-file.js';
import type { ComputeMode } from '../engine/index.js';

/** A file's download: `loaded` of `total` bytes (loaded === total once, at its end). */
export interface DownloadProgress { file: string; loaded: number; total: number }

export interface ModelSpecOptions {
  /** A llama2.c tokenizer file (for a .bin model). */
  tokenizer?: string;
  /** The frozen weights' matrix products (src/model/compute.ts; default fp32). */
  compute?: ComputeMode;
  onDownload?: (p: DownloadProgress) => void;
}

/** A local path, or an `org/name` Hub repo resolved through the Hugging Face cache (downloading if needed). */
export async function loadModelSpec(spec: string, o: ModelSpecOptions = {}): Promise<LoadedModel> {
  const { tokenizer, compute = 'fp32', onDownload } = o;
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
  const onProgress = onDownload ?? (() => {});
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
