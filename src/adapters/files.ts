// Adapters on disk, in files other tools read (no private names that need a converter).
//   LoRA          adapter_config.json (PEFT's LoraConfig) + adapter_model.safetensors with PEFT's tensor names
//                 base_model.model.<module path>.lora_A.weight [r, in] / .lora_B.weight [out, r]
//                 (PEFT strips the adapter name on save), so `PeftModel.from_pretrained(base, dir)` loads it.
//   Gated Memory  gated_memory_config.json + adapter_model.safetensors (docs/method.md §4; tensors named
//                 model.layers.N.self_attn.gated_memory.{mem_in,mem_out,gate_in,gate_out}.{weight,bias},
//                 shaped (H, in, out) — with memory_input "layer", mem_in/gate_in are [H·out, H·D] —
//                 and lm_head.lora_A/B.weight for the head LoRA).
//   Both          lift_manifest.json: which base model (id, revision, sha256 of its canonical config), which
//                 document, the recipe and the metrics. Loading refuses an adapter made for another base.
// A folder is written whole into a staging folder beside it and renamed into place (src/io/output.ts): readers
// never see half, and nothing that is not a LIFT adapter is ever replaced.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { native } from '../engine/native.js';
import { ADAPTER_OUTPUT, claimOutput, type OutputTarget } from '../io/output.js';
import { faultPoint } from '../io/fault.js';
import { loraBRows } from './layout.js';
import { modelContentHash } from '../model/identity.js';
import type { Tensor } from '../engine/index.js';
import type { LlamaModel, ProjName } from '../model/llama.js';
import type { LlamaConfig } from '../model/config.js';
import { FormatError } from '../io/errors.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { readF32, type TensorEntry } from '../io/tensor-entry.js';
import { LoraAdapter, ALL_LINEAR } from './lora.js';
import { GatedMemoryAdapter, type GatedMemoryInit, type GatedMemoryInput } from './gated-memory.js';

export const MANIFEST_FILE = 'lift_manifest.json';
export const WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const GATED_MEMORY_CONFIG_FILE = 'gated_memory_config.json';
/** 2: LoRA q/k lora_B rows are in Hugging Face's rotate-half order whatever the base's layout (1: the base's order). */
export const FORMAT_VERSION = 2;
/** PEFT's state-dict prefix for a PeftModelForCausalLM. */
export const PEFT_PREFIX = 'base_model.model.';

export type Adapter = LoraAdapter | GatedMemoryAdapter;
export type AdapterKind = Adapter['kind'];

/** The base model an adapter belongs to: what loadModelFromPath returns has these three. */
export interface BaseModelRef { model: LlamaModel; id: string; revision: string | null }

export interface LiftManifest {
  format_version: number;
  adapter: AdapterKind;
  /** content_sha256 (model/identity.ts) identifies the base by its weights; absent in manifests before it existed. */
  base_model: { id: string; revision: string | null; config_sha256: string; content_sha256?: string };
  /** sha256 of the absorbed document's UTF-8 bytes, when there is one. */
  document_sha256: string | null;
  recipe: Record<string, unknown>;
  metrics: Record<string, unknown>;
  created: string;
}

export interface ManifestInput {
  base: BaseModelRef;
  document_sha256?: string | null;
  recipe?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

/** Thrown when an adapter's manifest names another base model than the one it is being loaded onto. */
export class BaseModelMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaseModelMismatchError';
  }
}

/** JSON with object keys sorted at every level and no whitespace: equal configs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** sha256 of the canonical JSON of the parsed (Hugging Face-keyed) model config. */
export const configHash = (c: LlamaConfig): string => sha256Hex(canonicalJson(c));

/** The base's identity by content: wherever the file lives, the same weights give the same hash. */
export const contentHash = (m: LlamaModel): string => modelContentHash(m, canonicalJson(m.config));

/** PEFT's adapter_config.json for a LoRA (LoraConfig fields; the values PEFT writes for a plain LoRA). */
export function peftAdapterConfig(lora: LoraAdapter, base: { id: string; revision: string | null }): Record<string, unknown> {
  return {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: base.id, bias: 'none', fan_in_fan_out: false,
    inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
    loftq_config: {}, lora_alpha: lora.config.lora_alpha, lora_dropout: 0.0, megatron_config: null, megatron_core: 'megatron.core',
    modules_to_save: null, peft_type: 'LORA', r: lora.config.r, rank_pattern: {}, revision: base.revision,
    target_modules: [...lora.config.target_modules], task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
  };
}

export interface SaveAdapterOptions {
  /** Replace an existing LIFT adapter folder at the target (never anything else). */
  force?: boolean;
  /** Paths the caller read (model, document): the target may not be or hold one. */
  inputs?: string[];
  /** More files written into the folder with the adapter, in the same atomic step (document, report). */
  files?: Record<string, string | Uint8Array>;
  /** Runs when the folder is complete, just before it is renamed into place (absorb drops its checkpoint here). */
  beforeCommit?: () => void;
}

/** Thrown when an adapter holds NaN or ±Inf: such an adapter is never written, nor used. */
export class NonFiniteAdapterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteAdapterError';
  }
}

/** Names of the adapter's tensors holding NaN or ±Inf (empty when all finite). */
export function nonFiniteTensors(adapter: Adapter): string[] {
  return adapter.parameters().filter((t) => native.countNonFinite(t.f32()) > 0).map((t) => t.name);
}

/**
 * Writes `adapter` as a folder at `out` — a path (claimed here: refused if it exists and is not a LIFT adapter,
 * or is one and `force` is not set) or a target the caller claimed earlier (e.g. before hours of training,
 * so that a second writer fails at start). Returns the manifest written.
 */
export function saveAdapter(out: string | OutputTarget, adapter: Adapter, input: ManifestInput, opts: SaveAdapterOptions = {}): LiftManifest {
  const bad = nonFiniteTensors(adapter);
  if (bad.length > 0) throw new NonFiniteAdapterError(`the adapter holds NaN or infinite values in ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}; not written`);
  const { base } = input;
  const manifest: LiftManifest = {
    format_version: FORMAT_VERSION,
    adapter: adapter.kind,
    base_model: { id: base.id, revision: base.revision, config_sha256: configHash(base.model.config), content_sha256: contentHash(base.model) },
    document_sha256: input.document_sha256 ?? null,
    recipe: input.recipe ?? {},
    metrics: input.metrics ?? {},
    created: new Date().toISOString(),
  };
  const target = typeof out === 'string' ? claimOutput(out, { kind: ADAPTER_OUTPUT, force: opts.force, inputs: opts.inputs, flag: 'saveAdapter' }) : out;
  try {
    const tmp = target.stage();
    const json = (name: string, v: unknown): void => writeFileSync(join(tmp, name), JSON.stringify(v, null, 2) + '\n');
    if (adapter instanceof LoraAdapter) {
      json(PEFT_CONFIG_FILE, peftAdapterConfig(adapter, base));
      // PEFT applies lora_B to Hugging Face's q_proj/k_proj, whose rows are rotate-half (layout.ts).
      const { config, ropeLayout } = base.model;
      writeSafetensors(join(tmp, WEIGHTS_FILE), [...adapter.modules].flatMap(([path, [A, B]]) => [
        { name: `${PEFT_PREFIX}${path}.lora_A.weight`, dtype: 'F32' as const, shape: [...A.shape], data: A.f32() },
        { name: `${PEFT_PREFIX}${path}.lora_B.weight`, dtype: 'F32' as const, shape: [...B.shape], data: loraBRows(path, B.f32(), B.shape, config, ropeLayout, 'half') },
      ]), { format: 'pt' });
    } else {
      json(GATED_MEMORY_CONFIG_FILE, gatedMemoryConfig(adapter, base.model.config));
      writeSafetensors(join(tmp, WEIGHTS_FILE), adapter.parameters().map((t) => ({ name: t.name, dtype: 'F32' as const, shape: [...t.shape], data: t.f32() })),
        { format: 'pt', lift_adapter: 'gated_memory' });
    }
    faultPoint('adapter:weights-written');
    for (const [name, data] of Object.entries(opts.files ?? {})) {
      // Names may hold a subfolder (documents/01.txt), never leave the folder.
      if (isAbsolute(name) || name.split(/[\\/]/).some((p) => p === '..' || p === '')) throw new Error(`saveAdapter: file name ${JSON.stringify(name)} must be a relative path inside the adapter folder`);
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, name), data);
    }
    json(MANIFEST_FILE, manifest); // last: a folder with a manifest is complete
    opts.beforeCommit?.();
    target.commit(tmp);
  } finally {
    if (typeof out === 'string') target.release();
  }
  return manifest;
}

export interface LoadAdapterOptions {
  /** Accept a different base id/revision when the config hash matches (e.g. the same model moved on disk). */
  ignoreId?: boolean;
}

/** Reads an adapter folder written by saveAdapter (or PEFT + a LIFT manifest) onto `base`. */
export function loadAdapter(dir: string, base: BaseModelRef, opts: LoadAdapterOptions = {}): { adapter: Adapter; manifest: LiftManifest } {
  const manifest = readManifest(join(dir, MANIFEST_FILE));
  checkBase(dir, manifest, base, opts);
  const weightsFile = join(dir, WEIGHTS_FILE);
  if (!existsSync(weightsFile)) throw new FormatError(weightsFile, 'file', 'the adapter weights next to the manifest', 'not found');
  const adapter = manifest.adapter === 'lora' ? loraFromConfig(join(dir, PEFT_CONFIG_FILE), base.model) : gatedFromConfig(join(dir, GATED_MEMORY_CONFIG_FILE), base.model);
  try {
    const names = adapter instanceof LoraAdapter
      ? new Map([...adapter.modules].flatMap(([p, [A, B]]) => [[`${PEFT_PREFIX}${p}.lora_A.weight`, A], [`${PEFT_PREFIX}${p}.lora_B.weight`, B]]))
      : new Map(adapter.parameters().map((t) => [t.name, t]));
    fillTensors(weightsFile, names);
    if (adapter instanceof LoraAdapter && manifest.format_version >= 2)
      for (const [path, [, B]] of adapter.modules) B.f32().set(loraBRows(path, B.f32(), B.shape, base.model.config, 'half', base.model.ropeLayout));
    const bad = nonFiniteTensors(adapter);
    if (bad.length > 0) throw new NonFiniteAdapterError(`${weightsFile}: tensor "${bad[0]}"${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}: expected finite values, found NaN or infinity; this adapter cannot be used`);
  } catch (e) {
    adapter.dispose();
    throw e;
  }
  return { adapter, manifest };
}

/** The validated manifest of the adapter folder `dir` (FormatError naming the file and field otherwise). */
export function readAdapterManifest(dir: string): LiftManifest {
  return readManifest(join(dir, MANIFEST_FILE));
}

// ---- validation ------------------------------------------------------------------------------------

function readJson(file: string): Record<string, unknown> {
  if (!existsSync(file)) throw new FormatError(file, 'file', 'an adapter file in the folder', 'not found');
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(file, 'JSON', 'valid JSON', `got ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(file, 'JSON', 'an object');
  return v as Record<string, unknown>;
}

function field<T>(file: string, o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, expected: string): T {
  if (!ok(o[key])) throw new FormatError(file, `"${key}"`, expected, `got ${JSON.stringify(o[key])}`);
  return o[key] as T;
}
const isStr = (v: unknown): boolean => typeof v === 'string';
const isPosInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
/** Ranks and multipliers size allocations: a mutated r of 1484438224 must be a FormatError, not a native out-of-memory. */
const MAX_RANK = 65536;
const isRank = (v: unknown): boolean => isPosInt(v) && (v as number) <= MAX_RANK;
const isObj = (v: unknown): boolean => !!v && typeof v === 'object' && !Array.isArray(v);

function readManifest(file: string): LiftManifest {
  const o = readJson(file);
  const version = field<number>(file, o, 'format_version', isPosInt, 'a positive integer');
  if (version > FORMAT_VERSION) throw new FormatError(file, '"format_version"', `${FORMAT_VERSION} or lower (this LIFT.ts is older than the adapter)`, `got ${version}`);
  field(file, o, 'adapter', (v) => v === 'lora' || v === 'gated_memory', '"lora" or "gated_memory"');
  const b = field<Record<string, unknown>>(file, o, 'base_model', isObj, 'an object {id, revision, config_sha256}');
  field(file, b, 'id', isStr, 'the base model id (a string)');
  field(file, b, 'revision', (v) => v === null || isStr(v), 'a string or null');
  field(file, b, 'config_sha256', (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), '64 hex digits');
  field(file, b, 'content_sha256', (v) => v === undefined || (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)), '64 hex digits (or absent)');
  field(file, o, 'document_sha256', (v) => v === null || v === undefined || isStr(v), 'a string or null');
  return { ...(o as unknown as LiftManifest), document_sha256: (o.document_sha256 as string | null) ?? null, recipe: (o.recipe as Record<string, unknown>) ?? {}, metrics: (o.metrics as Record<string, unknown>) ?? {} };
}

function checkBase(dir: string, m: LiftManifest, base: BaseModelRef, opts: LoadAdapterOptions): void {
  const want = m.base_model, hash = configHash(base.model.config);
  const problems: string[] = [];
  if (want.config_sha256 !== hash) problems.push(`config sha256 differs (adapter ${want.config_sha256.slice(0, 16)}…, loaded ${hash.slice(0, 16)}…)`);
  if (want.content_sha256) {
    // Identified by content: a moved or copied file (another path, another id) is the same model; equal ids are not.
    const content = contentHash(base.model);
    if (want.content_sha256 !== content) problems.push(`the weights differ (content sha256 adapter ${want.content_sha256.slice(0, 16)}…, loaded ${content.slice(0, 16)}…)`);
  } else {
    // A manifest from before content hashes: the id and revision are all it has.
    if (!opts.ignoreId && want.id !== base.id) problems.push('the ids differ');
    if (!opts.ignoreId && want.revision && base.revision && want.revision !== base.revision) problems.push(`revision ${want.revision} ≠ ${base.revision}`);
  }
  if (problems.length > 0)
    throw new BaseModelMismatchError(`${dir}: this ${m.adapter} adapter was made for base model "${want.id}"${want.revision ? `@${want.revision}` : ''}, ` +
      `but the loaded model is "${base.id}"${base.revision ? `@${base.revision}` : ''}: ${problems.join('; ')}`);
}

function loraFromConfig(file: string, model: LlamaModel): LoraAdapter {
  const o = readJson(file);
  field(file, o, 'peft_type', (v) => v === 'LORA', '"LORA"');
  const r = field<number>(file, o, 'r', isRank, `a positive integer rank of at most ${MAX_RANK}`);
  // alpha / r scales every update; beyond ±1e4·r a float32 forward overflows (a user saw lora_alpha 1e38 print <unk>).
  const alpha = field<number>(file, o, 'lora_alpha', (v) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1e4 * r, `a finite number with |lora_alpha / r| ≤ 10000`);
  const known = [...ALL_LINEAR, 'lm_head'];
  const targets = field<ProjName[]>(file, o, 'target_modules', (v) => Array.isArray(v) && v.length > 0 && v.every((x) => known.includes(x)),
    `a list of module names from ${known.join(', ')} (regex strings are not supported)`);
  // Settings that change the arithmetic or the set of modules; we support PEFT's plain LoRA only.
  field(file, o, 'bias', (v) => v === undefined || v === 'none', '"none"');
  field(file, o, 'fan_in_fan_out', (v) => v === undefined || v === false, 'false');
  field(file, o, 'use_rslora', (v) => v === undefined || v === false, 'false (rsLoRA scaling is not supported)');
  field(file, o, 'use_dora', (v) => v === undefined || v === false, 'false (DoRA is not supported)');
  field(file, o, 'layers_to_transform', (v) => v === undefined || v === null, 'null (every layer)');
  for (const k of ['rank_pattern', 'alpha_pattern'])
    field(file, o, k, (v) => v === undefined || v === null || (isObj(v) && Object.keys(v as object).length === 0), '{} (per-module ranks are not supported)');
  return new LoraAdapter(model, { r, lora_alpha: alpha, target_modules: targets });
}

function gatedMemoryConfig(a: GatedMemoryAdapter, c: LlamaConfig): Record<string, unknown> {
  return {
    lift_adapter: 'gated_memory',
    formula: a.options.memoryInput === 'layer'
      ? 'o = (1 - g)·attn + g·m;  m = W2·SiLU(W1·q);  g = sigmoid(3·(V·SiLU(U·q) - 1));  q = pre-RoPE query of all heads, W1/U [H·out, H·D] (beyond docs/method.md §4)'
      : 'o = (1 - g)·attn + g·m;  m = W2·SiLU(W1·q);  g = sigmoid(3·(V·SiLU(U·q) - 1));  q = pre-RoPE query per head (docs/method.md §4)',
    memory_multiplier: a.options.memoryMultiplier, gate_hidden: a.gateHidden, bias: a.bias, gate_out_bias: a.bias && a.options.gateOutBias, init: a.options.init,
    memory_input: a.options.memoryInput,
    head_lora: a.options.headLora ? { r: a.options.headLora.r, lora_alpha: a.options.headLora.alpha, target_modules: ['lm_head'] } : null,
    num_hidden_layers: c.num_hidden_layers, num_attention_heads: c.num_attention_heads, head_dim: c.head_dim, seed: a.options.seed,
  };
}

function gatedFromConfig(file: string, model: LlamaModel): GatedMemoryAdapter {
  const o = readJson(file), c = model.config;
  field(file, o, 'lift_adapter', (v) => v === 'gated_memory', '"gated_memory"');
  const k = field<number>(file, o, 'memory_multiplier', (v) => isPosInt(v) && (v as number) <= 1024, 'a positive integer of at most 1024');
  const init = field<GatedMemoryInit>(file, o, 'init', (v) => v === 'paper' || v === 'zero-output', '"paper" or "zero-output"');
  // Absent in files written before the 'layer' variant existed: those are the paper's per-head form.
  const memoryInput = field<GatedMemoryInput | undefined>(file, o, 'memory_input', (v) => v === undefined || v === 'head' || v === 'layer', '"head" or "layer"') ?? 'head';
  for (const [key, want] of [['num_hidden_layers', c.num_hidden_layers], ['num_attention_heads', c.num_attention_heads], ['head_dim', c.head_dim]] as const)
    field(file, o, key, (v) => v === want, `${want} (the loaded model's ${key})`);
  field(file, o, 'bias', (v) => v === c.attention_bias, `${c.attention_bias} (whether the loaded model's attention has biases)`);
  // Absent in files written before the option existed: gate_out then had a bias exactly when the others did.
  const gateOutBias = field<boolean | undefined>(file, o, 'gate_out_bias', (v) => v === undefined || typeof v === 'boolean', 'true or false') ?? c.attention_bias;
  const hl = field<Record<string, unknown> | null>(file, o, 'head_lora', (v) => v === null || isObj(v), 'an object {r, lora_alpha} or null');
  const headLora = hl === null ? null : {
    r: field<number>(file, hl, 'r', isRank, `a positive integer of at most ${MAX_RANK}`),
    alpha: field<number>(file, hl, 'lora_alpha', (v) => typeof v === 'number' && Number.isFinite(v), 'a number'),
  };
  return new GatedMemoryAdapter(model, { memoryMultiplier: k, init, memoryInput, headLora, gateOutBias, seed: typeof o.seed === 'number' ? o.seed : 0 });
}

/** Copies every expected tensor from the file, checking that names and shapes match exactly. */
function fillTensors(file: string, want: Map<string, Tensor>): void {
  const ckpt = readSafetensors(file);
  for (const name of ckpt.tensors.keys())
    if (!want.has(name)) throw new FormatError(file, `tensor "${name}"`, `only this adapter's ${want.size} tensors (e.g. "${want.keys().next().value}")`, 'found an unexpected tensor');
  for (const [name, t] of want) {
    const e: TensorEntry | undefined = ckpt.tensors.get(name);
    if (!e) throw new FormatError(file, `tensor "${name}"`, `shape [${t.shape.join(', ')}]`, 'missing');
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i]))
      throw new FormatError(file, `tensor "${name}"`, `shape [${t.shape.join(', ')}]`, `got [${e.shape.join(', ')}]`);
    t.f32().set(readF32(e));
  }
}
