// Model and adapter loading for the subcommands: a local path (llama2.c .bin, .gguf, Hugging Face folder) or a
// Hub repo id resolved through the Hugging Face cache (src/model/spec.ts), downloads shown as progress bars.
import { existsSync } from 'node:fs';
import { isPartsFolder, partDirs, PARTS_FILE } from '../lift/parts-folder.js';
import { Option } from 'commander';
import type { LoadedModel } from '../model/load.js';
import { loadModelSpec, type DownloadProgress } from '../model/spec.js';
import { loadAdapter, type Adapter, type LiftManifest } from '../adapters/files.js';
import { progress, type Progress } from './progress.js';
import { log } from './io.js';
import { COMPUTE_MODES, type ComputeMode } from '../engine/index.js';

export type { ComputeMode };

/**
 * --compute for every command that loads a model to run it (absorb, ask, chat, generate, eval). Default auto:
 * bf16 where the CPU has the units, the weights are f32/f16/bf16 and the model is at least BF16_MIN_HIDDEN wide
 * (absorb ~2.3–2.6× the 36dd210 release on the 135M shape against 1.5–1.8× in fp32, with the same recall: docs/speed.md).
 * `export`, `merge` and `serve` load fp32 (exact weights to write out; the server's jobs as before).
 */
export function computeOption(): Option {
  return new Option('--compute <mode>', "the frozen weights' matrix products: auto (bf16 where the CPU has AVX-512 BF16 units, the weights are f32/f16/bf16 and the model is ≥ 512 wide; else fp32), fp32, or bf16")
    .choices([...COMPUTE_MODES])
    .default('auto');
}

/** A local path, or an `org/name` Hub repo resolved through the Hugging Face cache (downloading if needed). */
export async function loadModelForCli(spec: string, tokenizer?: string, compute: ComputeMode = 'fp32'): Promise<LoadedModel> {
  const loaded = await loadModelSpec(spec, { tokenizer, compute, onDownload: downloadBars() });
  if (loaded.computeNote) log(loaded.computeNote); // auto fell back to fp32: one line saying why
  return loaded;
}

/** One progress bar (with ETA) per downloaded file, in kB. */
function downloadBars(): (p: DownloadProgress) => void {
  const bars = new Map<string, Progress>();
  return ({ file, loaded, total }) => {
    let bar = bars.get(file);
    if (!bar) bars.set(file, (bar = progress(`downloading ${file}`, Math.max(1, Math.round(total / 1e3)))));
    bar.update(Math.round(loaded / 1e3), 'kB');
    if (loaded === total) bar.stop(`downloaded ${file} (${(total / 1e6).toFixed(1)} MB)`);
  };
}

/** Loads an adapter folder (written by `lift absorb`, or PEFT + a LIFT manifest) onto the loaded model. */
/** Where one adapter is meant (export, merge, inspect --recipe): a parts folder is refused, naming its parts. */
export function refuseParts(dir: string): void {
  // ask, chat and generate route a parts folder's adapters (ask.ts loadAdaptersForCli); one adapter is one part.
  if (isPartsFolder(dir)) throw new Error(`${dir} holds a document absorbed in parts (${PARTS_FILE}), one adapter per part: name one part folder (${partDirs(dir).slice(0, 2).join(', ')}, …)`);
}

export function loadAdapterForCli(dir: string, loaded: LoadedModel): { adapter: Adapter; manifest: LiftManifest } {
  if (!existsSync(dir)) throw new Error(`adapter not found: ${dir} does not exist (lift absorb --out writes one)`);
  refuseParts(dir);
  return loadAdapter(dir, { model: loaded.model, id: loaded.id, revision: loaded.revision });
}
