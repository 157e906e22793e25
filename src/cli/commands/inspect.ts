// `lift inspect PATH`: what is in a model, checkpoint or adapter, read from headers only (no weights are
// loaded, so it is instant even for multi-GB files and works for files the engine cannot run). Handles a
// llama2.c .bin, a GGUF file, a .safetensors file (or sharded index), a Hugging Face model folder and an
// adapter folder. Human-readable on stdout by default; --json prints one JSON object for scripts.
import { isPartsFolder, partDirs, PARTS_FILE } from '../../lift/parts-folder.js';
import { refuseParts } from '../model.js';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Command } from 'commander';
import { readGGUF, type GGUFValue, type GGUFTypeName } from '../../io/gguf.js';
import { readSafetensors } from '../../io/safetensors.js';
import { readLlama2c } from '../../io/llama2c.js';
import { elementCount, type Checkpoint } from '../../io/tensor-entry.js';
import { bitsPerWeight } from '../../io/quant-types.js';
import { parameterCount, parseHFConfig, type LlamaConfig } from '../../model/config.js';
import { configFromGGUF, configFromLlama2c } from '../../model/load.js';
import { SentencePieceTokenizer } from '../../text/sentencepiece.js';
import { GATED_MEMORY_CONFIG_FILE, MANIFEST_FILE, PEFT_CONFIG_FILE, WEIGHTS_FILE } from '../../adapters/files.js';
import { out } from '../io.js';

interface InspectFlags { json?: boolean; tensors?: boolean; recipe?: boolean }

/** Tensor lists longer than this are only printed with --tensors (a 7B model has ~300). */
const LIST_TENSORS_UP_TO = 32;
/** GGUF arrays longer than this (the tokenizer's vocabulary, scores, merges) are summarised, never dumped. */
const ARRAY_SHOWN_UP_TO = 16;

const EXPECTED = 'a llama2.c .bin, a .gguf file, a .safetensors file, a Hugging Face model folder (config.json) or an adapter folder (lift_manifest.json)';

type Json = Record<string, unknown>;

interface TensorRow { name: string; dtype: string; shape: number[]; bits_per_weight: number }

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Summarise a model, GGUF or safetensors file, or adapter folder (headers only; no weights loaded)')
    .argument('<path>', 'llama2.c .bin, .gguf, .safetensors, Hugging Face model folder or adapter folder')
    .option('--json', 'print one JSON object instead of text')
    .option('--tensors', `list every tensor (lists of up to ${LIST_TENSORS_UP_TO} are always shown)`)
    .option('--recipe', 'print only the recipe an adapter was built with, as JSON for `lift absorb --recipe FILE.json`')
    .addHelpText('after', `
Examples:
  lift inspect stories260K.bin
  lift inspect model.gguf --tensors                  # metadata keys with their types, every tensor's shape
  lift inspect ./SmolLM2-135M --json | jq .model.parameters
  lift inspect book.lift                             # adapter kind, base model, recipe, metrics
  lift inspect book.lift --recipe > recipe.json      # then: lift absorb other.txt --model M --out o.lift --recipe recipe.json`)
    .action((path: string, f: InspectFlags) => {
      if (f.recipe) {
        out(JSON.stringify(builtRecipeOf(path), null, 2) + '\n');
        return;
      }
      const info = inspectPath(path, Boolean(f.tensors));
      out(f.json ? JSON.stringify(info, jsonSafe, 2) + '\n' : render(info));
    });
}

/** The recipe an adapter folder's manifest keeps as built (`recipe.built`, written by lift absorb). */
export function builtRecipeOf(dir: string): Json {
  refuseParts(dir);
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) throw new Error(`${dir}: no ${MANIFEST_FILE}; --recipe reads the recipe of an adapter folder written by lift absorb`);
  const recipe = readJsonFile(manifestPath, 'a LIFT adapter manifest (JSON object)').recipe as Json | undefined;
  const built = recipe && typeof recipe === 'object' ? recipe.built : undefined;
  if (!built || typeof built !== 'object') throw new Error(`${manifestPath}: recipe.built: expected the recipe as built (adapters written by lift absorb from this version on keep it), got ${JSON.stringify(built ?? null)}`);
  return built as Json;
}

/** Everything `lift inspect` reports about `path`, as a plain object (what --json prints). */
export function inspectPath(path: string, allTensors = false): Json {
  if (!existsSync(path)) throw new Error(`${path} does not exist (expected ${EXPECTED})`);
  if (statSync(path).isDirectory()) {
    // A document absorbed in parts (lift absorb --parts): the list, then each part as an adapter folder.
    if (isPartsFolder(path)) return { path, kind: 'lift-parts', ...(readJsonFile(join(path, PARTS_FILE), 'the list of a document\'s part adapters') as Record<string, Json>), part_adapters: partDirs(path).map((d) => inspectAdapter(d, allTensors)) };
    if ([MANIFEST_FILE, PEFT_CONFIG_FILE, GATED_MEMORY_CONFIG_FILE].some((f) => existsSync(join(path, f)))) return inspectAdapter(path, allTensors);
    if (existsSync(join(path, 'config.json'))) return inspectHF(path, allTensors);
    throw new Error(`${path}: a folder with neither config.json (a Hugging Face model) nor ${MANIFEST_FILE} (an adapter); expected ${EXPECTED}`);
  }
  const head = firstBytes(path, 4).toString('latin1');
  // Each reader's FormatError names the field and what it expected; say which format we tried to read it as.
  const as = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new Error(`${path}: cannot be read as ${what} (${(e as Error).message}); expected ${EXPECTED}`);
    }
  };
  if (head === 'GGUF') return as('GGUF', () => inspectGGUF(path, allTensors));
  if (path.endsWith('.safetensors') || path.endsWith('.index.json')) return as('safetensors', () => inspectSafetensors(path, allTensors));
  if (path.endsWith('.json')) throw new Error(`${path}: a JSON file is not a checkpoint; pass the folder that holds it (expected ${EXPECTED})`);
  return as('a llama2.c checkpoint', () => inspectLlama2c(path, allTensors));
}

/** The magic number only: never read a multi-GB checkpoint whole. */
function firstBytes(path: string, n: number): Buffer {
  const b = Buffer.alloc(n), fd = openSync(path, 'r');
  try {
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

// ---- the four kinds -----------------------------------------------------------------------------------

function inspectLlama2c(path: string, all: boolean): Json {
  const ck = readLlama2c(path);
  const config = configFromLlama2c(ck.metadata);
  const candidates = [join(dirname(path), `tok${config.vocab_size}.bin`), join(dirname(path), 'tokenizer.bin')];
  const tokFile = candidates.find((p) => existsSync(p)) ?? null;
  let tokenizer: Json = { kind: 'llama2.c', file: null, note: `not found (looked for ${candidates.map((p) => basename(p)).join(', ')}; pass --tokenizer when running)` };
  if (tokFile) {
    try {
      tokenizer = { kind: 'llama2.c', file: tokFile, vocab_size: SentencePieceTokenizer.fromLlama2cFile(tokFile, config.vocab_size).vocabSize };
    } catch (e) {
      tokenizer = { kind: 'llama2.c', file: tokFile, error: (e as Error).message };
    }
  }
  return { path, kind: 'llama2c', model: modelSummary('llama2.c', config, ck, tokenizer, false, 'interleaved (llama2.c / Meta)'), ...tensorList(ck, all) };
}

function inspectGGUF(path: string, all: boolean): Json {
  const ck = readGGUF(path);
  const meta = ck.entries.map((e) => ({ key: e.key, ...describeValue(e.type, e.value) }));
  const m = ck.metadata;
  let model: Json | null = null, modelError: string | null = null;
  try {
    const config = configFromGGUF(basename(path), m, ck.tensors) // it looks up GGUF names (output.weight);
    const tokens = m['tokenizer.ggml.tokens'];
    const tokenizer = tokens === undefined ? { kind: 'none', note: 'no tokenizer.ggml.tokens in the metadata' }
      : { kind: `gguf (${String(m['tokenizer.ggml.model'] ?? 'unknown')})`, vocab_size: Array.isArray(tokens) ? tokens.length : null, bos_token_id: m['tokenizer.ggml.bos_token_id'] ?? null, eos_token_id: m['tokenizer.ggml.eos_token_id'] ?? null };
    const rope = config.model_type === 'qwen2' ? 'half (NEOX, rotate_half)' : 'interleaved (llama.cpp permutes q/k)';
    model = modelSummary('gguf', config, ck, tokenizer, typeof m['tokenizer.chat_template'] === 'string', rope);
  } catch (e) {
    // Still a valid GGUF file: show its metadata and tensors, and say why LIFT cannot run it.
    modelError = (e as Error).message;
  }
  return { path, kind: 'gguf', ...(model ? { model } : { model: null, model_error: modelError }), gguf: { version: ck.version, alignment: ck.alignment, metadata: meta }, ...tensorList(ck, all) };
}

function inspectSafetensors(path: string, all: boolean): Json {
  const ck = readSafetensors(path);
  return { path, kind: 'safetensors', files: ck.files, metadata: ck.metadata, parameters: totalElements(ck), dtypes: dtypeCounts(ck), tensor_count: ck.tensors.size, ...tensorList(ck, all) };
}

function inspectHF(dir: string, all: boolean): Json {
  const cfgPath = join(dir, 'config.json');
  const config = parseHFConfig(readJsonFile(cfgPath, 'a Hugging Face config.json object'), cfgPath);
  const ck = readSafetensors(dir);
  const tokPath = join(dir, 'tokenizer.json');
  let tokenizer: Json = { kind: 'none', note: 'tokenizer.json is missing (the folder needs its Hugging Face tokenizer)' };
  if (existsSync(tokPath)) {
    const t = readJsonFile(tokPath, 'a Hugging Face tokenizer.json object');
    const model = (t.model ?? {}) as { type?: string; vocab?: unknown };
    const vocab = Array.isArray(model.vocab) ? model.vocab.length : model.vocab && typeof model.vocab === 'object' ? Object.keys(model.vocab).length : null;
    tokenizer = { kind: `huggingface (${model.type ?? 'unknown'})`, file: tokPath, vocab_size: vocab, added_tokens: Array.isArray(t.added_tokens) ? t.added_tokens.length : 0 };
  }
  const tcPath = join(dir, 'tokenizer_config.json');
  const tc = existsSync(tcPath) ? readJsonFile(tcPath, 'a tokenizer_config.json object') : {};
  const hasTemplate = typeof tc.chat_template === 'string' || Array.isArray(tc.chat_template) || existsSync(join(dir, 'chat_template.jinja'));
  return { path: dir, kind: 'huggingface', model: modelSummary('safetensors', config, ck, tokenizer, hasTemplate, 'half (NEOX, rotate_half)'), ...tensorList(ck, all) };
}

function inspectAdapter(dir: string, all: boolean): Json {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = existsSync(manifestPath) ? readJsonFile(manifestPath, 'a LIFT adapter manifest (JSON object)') : null;
  if (manifest && (typeof manifest.adapter !== 'string' || !manifest.base_model || typeof manifest.base_model !== 'object'))
    throw new Error(`${manifestPath}: expected a LIFT adapter manifest with "adapter" and "base_model" (written by lift absorb), got keys ${Object.keys(manifest).join(', ') || '(none)'}`);
  const peft = join(dir, PEFT_CONFIG_FILE), gm = join(dir, GATED_MEMORY_CONFIG_FILE);
  const configFile = existsSync(gm) && manifest?.adapter !== 'lora' ? gm : existsSync(peft) ? peft : null;
  const config = configFile ? readJsonFile(configFile, 'an adapter config (JSON object)') : null;
  const weights = join(dir, WEIGHTS_FILE);
  if (!existsSync(weights)) throw new Error(`${dir}: ${WEIGHTS_FILE} is missing (an adapter folder holds ${MANIFEST_FILE}, its config and ${WEIGHTS_FILE}; lift absorb --out writes one)`);
  let ck: Checkpoint;
  try {
    ck = readSafetensors(weights);
  } catch (e) {
    throw new Error(`${weights}: cannot be read as the adapter's safetensors weights (${(e as Error).message})`);
  }
  const docPath = join(dir, 'document.json');
  const doc = existsSync(docPath) ? readJsonFile(docPath, 'the absorbed document record (JSON object)') : null;
  const kind = manifest?.adapter ?? (configFile === peft ? 'lora' : 'gated_memory');
  const base = (manifest?.base_model ?? null) as Json | null;
  const cfg = config && kind === 'lora' ? { r: config.r, lora_alpha: config.lora_alpha, target_modules: config.target_modules, base_model_name_or_path: config.base_model_name_or_path } : config;
  return {
    path: dir,
    kind: 'adapter',
    adapter: {
      kind,
      manifest: manifest ? manifestPath : null,
      format_version: manifest?.format_version ?? null,
      base_model: base ?? (config?.base_model_name_or_path ? { id: config.base_model_name_or_path, revision: config.revision ?? null } : null),
      document_sha256: manifest?.document_sha256 ?? null,
      document: doc ? { title: doc.title, source: doc.source, context_budget: doc.context_budget, qas: Array.isArray(doc.qas) ? doc.qas.length : 0 } : null,
      created: manifest?.created ?? null,
      config: cfg,
      recipe: manifest?.recipe ?? null,
      metrics: manifest?.metrics ?? null,
      trainable_parameters: totalElements(ck),
      dtypes: dtypeCounts(ck),
      tensor_count: ck.tensors.size,
    },
    ...tensorList(ck, all),
  };
}

// ---- pieces -------------------------------------------------------------------------------------------

function modelSummary(format: string, c: LlamaConfig, ck: Checkpoint, tokenizer: Json, chatTemplate: boolean, rope: string): Json {
  return {
    format,
    architecture: c.architectures[0],
    model_type: c.model_type,
    config: c,
    // From the config (what the engine builds), which excludes llama2.c's stored RoPE tables.
    parameters: parameterCount(c),
    stored_elements: totalElements(ck),
    dtypes: dtypeCounts(ck),
    tensor_count: ck.tensors.size,
    ...memorySummary(c, ck),
    tokenizer,
    chat_template: chatTemplate,
    rope_layout: rope,
  };
}

function tensorList(ck: Checkpoint, all: boolean): { tensors?: TensorRow[] } {
  if (!all && ck.tensors.size > LIST_TENSORS_UP_TO) return {};
  return { tensors: [...ck.tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bits_per_weight: bitsPerWeight(t.dtype) })) };
}

/**
 * The file's bits per weight (stored bytes × 8 / elements) and what loading it holds: matrices stay in their
 * stored type (F16/BF16/Q4_K … are not upcast: src/model/stored-weights.ts), vectors become f32. An absorb adds
 * LIFT's default LoRA (r = 128 on every linear layer) with its gradient and AdamW moments (4 × f32), plus the
 * activations of one pass, which depend on the context budget (lift absorb prints its plan with them).
 */
function memorySummary(c: LlamaConfig, ck: Checkpoint): Json {
  let bits = 0, n = 0, load = 0;
  for (const t of ck.tensors.values()) {
    const e = elementCount(t.shape);
    bits += bitsPerWeight(t.dtype) * e;
    n += e;
    load += t.shape.length === 2 ? (bitsPerWeight(t.dtype) * e) / 8 : 4 * e;
  }
  const C = c.hidden_size, QD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim, I = c.intermediate_size;
  const loraParams = 128 * c.num_hidden_layers * ((C + QD) * 2 + (C + KD) * 2 + 3 * (C + I));
  return { bits_per_weight: n ? bits / n : 0, load_bytes: load, absorb_bytes_before_activations: load + 16 * loraParams };
}

const totalElements = (ck: Checkpoint): number => [...ck.tensors.values()].reduce((s, t) => s + elementCount(t.shape), 0);

function dtypeCounts(ck: Checkpoint): Record<string, number> {
  const r: Record<string, number> = {};
  for (const t of ck.tensors.values()) r[t.dtype] = (r[t.dtype] ?? 0) + 1;
  return r;
}

function readJsonFile(file: string, expected: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: expected ${expected}, but it is not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${file}: expected ${expected}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Json;
}

/** A GGUF value for display: scalars as they are, long arrays as their length and first few items. */
function describeValue(type: GGUFTypeName, v: GGUFValue): Json {
  if (type !== 'array' || typeof v !== 'object' || Array.isArray(v) || typeof v === 'bigint') return { type, value: v };
  const plain = (x: GGUFValue): unknown => (typeof x === 'object' && !Array.isArray(x) && typeof x !== 'bigint' ? describeValue('array', x) : x);
  const n = v.values.length;
  return n <= ARRAY_SHOWN_UP_TO
    ? { type: 'array', element_type: v.elementType, length: n, values: v.values.map(plain) }
    : { type: 'array', element_type: v.elementType, length: n, head: v.values.slice(0, 8).map(plain) };
}

/** JSON.stringify replacer: 64-bit GGUF integers are bigints (as numbers when exact, else strings). */
function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

// ---- text rendering -----------------------------------------------------------------------------------

const fmtCount = (n: number): string => `${n.toLocaleString('en-US')} (${n >= 1e9 ? (n / 1e9).toFixed(2) + 'B' : n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : (n / 1e3).toFixed(1) + 'K'})`;
const fmtBytes = (b: number): string => (b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`);
const fmtDtypes = (d: Record<string, number>): string => Object.entries(d).map(([k, n]) => `${k} ×${n}`).join(', ') || '(none)';

function scalar(v: unknown): string {
  if (typeof v === 'string') {
    const one = v.replace(/\n/g, '\\n');
    return one.length > 80 ? `${JSON.stringify(one.slice(0, 60))}… (${v.length} chars)` : JSON.stringify(v);
  }
  if (v && typeof v === 'object' && 'element_type' in v) {
    const a = v as { element_type: string; length: number; values?: unknown[]; head?: unknown[] };
    const items = (a.values ?? a.head ?? []).map(scalar).join(', ');
    return `[${items}${a.head ? `, … ${a.length - a.head.length} more` : ''}]`;
  }
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v, jsonSafe);
}

function render(info: Json): string {
  const lines: string[] = [];
  const kv = (k: string, v: unknown, indent = '  '): void => void lines.push(`${indent}${(k + ':').padEnd(24)} ${typeof v === 'string' ? v : scalar(v)}`);
  lines.push(`${info.path}: ${({ llama2c: 'llama2.c checkpoint', gguf: 'GGUF file', safetensors: 'safetensors file', huggingface: 'Hugging Face model folder', adapter: 'adapter folder' } as Json)[info.kind as string]}`);
  const model = info.model as Json | null | undefined;
  if (model) {
    const c = model.config as LlamaConfig, tok = model.tokenizer as Json;
    lines.push('model');
    kv('architecture', `${model.architecture} (${model.model_type})`);
    kv('parameters', fmtCount(model.parameters as number));
    kv('dtypes', fmtDtypes(model.dtypes as Record<string, number>));
    kv('bits per weight', (model.bits_per_weight as number).toFixed(2));
    kv('memory', `load ${fmtBytes(model.load_bytes as number)}; absorb ${fmtBytes(model.absorb_bytes_before_activations as number)} + activations (default LoRA r 128)`);
    kv('tensors', String(model.tensor_count));
    kv('layers', String(c.num_hidden_layers));
    kv('hidden / ffn', `${c.hidden_size} / ${c.intermediate_size}`);
    kv('heads / kv heads', `${c.num_attention_heads} / ${c.num_key_value_heads} (head_dim ${c.head_dim})`);
    kv('vocabulary', String(c.vocab_size));
    kv('context', String(c.max_position_embeddings));
    kv('rope', `theta ${c.rope_theta}${c.rope_scaling ? `, scaling ${JSON.stringify(c.rope_scaling)}` : ''}; layout ${model.rope_layout}`);
    kv('tied embeddings', c.tie_word_embeddings ? 'yes' : 'no');
    kv('tokenizer', `${tok.kind}${tok.file ? ` ${tok.file}` : ''}${tok.vocab_size != null ? `, ${tok.vocab_size} tokens` : ''}${tok.note ? ` — ${tok.note}` : ''}${tok.error ? ` — unreadable: ${tok.error}` : ''}`);
    kv('chat template', model.chat_template ? 'yes' : 'no');
  } else if (info.kind === 'gguf') {
    lines.push(`model: LIFT cannot run this file: ${info.model_error}`);
  }
  const gguf = info.gguf as { version: number; alignment: number; metadata: (Json & { key: string; type: string })[] } | undefined;
  if (gguf) {
    lines.push(`gguf metadata (version ${gguf.version}, alignment ${gguf.alignment}, ${gguf.metadata.length} keys)`);
    for (const e of gguf.metadata) {
      const type = e.type === 'array' ? `array[${e.element_type}] ×${e.length}` : e.type;
      lines.push(`  ${e.key.padEnd(44)} ${type.padEnd(22)} ${e.type === 'array' ? scalar(e) : scalar(e.value)}`);
    }
  }
  if (info.kind === 'safetensors') {
    kv('files', (info.files as string[]).join(', '));
    kv('parameters', fmtCount(info.parameters as number));
    kv('dtypes', fmtDtypes(info.dtypes as Record<string, number>));
    const meta = Object.entries(info.metadata as Json);
    lines.push(`metadata (${meta.length} keys)`);
    for (const [k, v] of meta) kv(k, scalar(v), '    ');
  }
  const a = info.adapter as Json | undefined;
  if (a) {
    const base = a.base_model as Json | null, doc = a.document as Json | null;
    lines.push('adapter');
    kv('kind', String(a.kind));
    kv('base model', base ? `${base.id}${base.revision ? `@${base.revision}` : ''}${base.config_sha256 ? ` (config sha256 ${String(base.config_sha256).slice(0, 16)}…)` : ''}` : 'unknown (no manifest)');
    kv('trainable parameters', fmtCount(a.trainable_parameters as number));
    kv('dtypes', fmtDtypes(a.dtypes as Record<string, number>));
    kv('tensors', String(a.tensor_count));
    kv('document sha256', a.document_sha256 ? String(a.document_sha256) : 'none');
    if (doc) kv('document', `"${doc.title}" from ${doc.source}, context budget ${doc.context_budget}, ${doc.qas} QAs`);
    if (a.created) kv('created', String(a.created));
    for (const [title, obj] of [['config', a.config], ['recipe', a.recipe], ['metrics', a.metrics]] as const) {
      if (!obj) continue;
      lines.push(`  ${title}`);
      for (const [k, v] of Object.entries(obj as Json)) kv(k, typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(5) : scalar(v), '    ');
    }
  }
  const tensors = info.tensors as TensorRow[] | undefined;
  const count = (model?.tensor_count ?? a?.tensor_count ?? info.tensor_count ?? null) as number | null;
  if (tensors) {
    lines.push(`tensors (${tensors.length})`);
    const w = Math.max(...tensors.map((t) => t.name.length), 4);
    for (const t of tensors) lines.push(`  ${t.name.padEnd(w)}  ${t.dtype.padEnd(5)} ${t.bits_per_weight.toFixed(2).padStart(5)} bpw  [${t.shape.join(', ')}]`);
  } else if (count !== null) lines.push(`(${count} tensors; --tensors lists them)`);
  return lines.join('\n') + '\n';
}
