// One fuzz target per parser. Each says how to make an input (a fast-check arbitrary, usually a mutation of a
// valid fixture) and how to feed it to the parser the way the tool does. The runner classifies every outcome:
// returning = ok, a typed error (isTypedError) = fine, any other throw = untyped error.
import fc from 'fast-check';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readGGUF } from '../../src/io/gguf.js';
import { tidy } from '../../src/engine/index.js';
import { readLlama2cTokenizerFile } from '../../src/io/llama2c.js';
import { readF32 } from '../../src/io/tensor-entry.js';
import { Tensor } from '../../src/engine/index.js';
import { loadModelFromPath, type LoadedModel } from '../../src/model/load.js';
import { fromGGUFMetadata } from '../../src/text/gguf-vocab-tokenizer.js';
import { SentencePieceTokenizer } from '../../src/text/sentencepiece.js';
import { HFTokenizer } from '../../src/text/hf-tokenizer.js';
import type { Tokenizer } from '../../src/text/tokenizer.js';
import { loadAdapter, BaseModelMismatchError, NonFiniteAdapterError } from '../../src/adapters/files.js';
import { readAbsorbed } from '../../src/lift/folder.js';
import { partDirs } from '../../src/lift/parts-folder.js';
import { createHash } from 'node:crypto';
import { loadCheckpoint, checkpointPath } from '../../src/lift/checkpoint.js';
import { parsePyLiteral, PyLiteralSyntaxError } from '../../src/eval/pyliteral.js';
import { readDocument } from '../../src/lift/document.js';
import { FORMAT_TARGETS } from './format-targets.js';
import { readQACache, sha256 } from '../../src/lift/qa/cache.js';
import { applyByteOps, applyJsonOp, byteOps, hostileJson, jsonOps, mutatedBytes, type ByteOp, type JsonOp } from './mutate.js';
import type { Fixtures } from './fixtures.js';

/** The errors a parser may throw for bad input: FormatError (ConfigError is one) and the modules' documented types. */
export function isTypedError(e: unknown): boolean {
  return e instanceof FormatError || e instanceof PyLiteralSyntaxError || e instanceof BaseModelMismatchError || e instanceof NonFiniteAdapterError;
}

export interface Context {
  fx: Fixtures;
  /** A scratch folder of this process: targets write their mutants here. */
  work: string;
}

type Runner<T> = (input: T) => void | Promise<void>;

export interface FuzzTarget<T = unknown> {
  name: string;
  what: string;
  /** Prepares what every run shares (loaded once per process, may be async); returns the runner of one input. */
  setup(ctx: Context): Runner<T> | Promise<Runner<T>>;
  input(fx: Fixtures): fc.Arbitrary<T>;
}

/** Any text, including astral characters, lone surrogates and control characters. */
const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));

/** Every way a tokenizer is used: encode with and without BOS/EOS, decode, stream-decode. */
function exercise(tok: Tokenizer, text: string): void {
  const ids = tok.encode(text, { bos: true, eos: true });
  tok.decode(ids);
  const d = tok.createDecoder();
  for (const id of ids) d.push(id);
  d.flush();
  tok.encode(text, { bos: false });
}

function loadAndFree(path: string, tokenizer?: string): void {
  const loaded: LoadedModel = loadModelFromPath(path, { tokenizer });
  loaded.model.dispose();
}

const safetensors: FuzzTarget<{ bytes: Uint8Array }> = {
  name: 'safetensors',
  what: 'readSafetensors + readF32 of every tensor, on mutants of a 3-tensor F32/F16/BF16 file',
  input: (fx) => mutatedBytes(fx.safetensors.bytes, 200),
  setup: ({ work }) => (x) => {
    const file = join(work, 'x.safetensors');
    writeFileSync(file, x.bytes);
    for (const e of readSafetensors(file).tensors.values()) readF32(e);
  },
};

const gguf: FuzzTarget<{ bytes: Uint8Array }> = {
  name: 'gguf',
  what: 'readGGUF + readF32 of every tensor + loading it as a model (config, vocabulary, weights), on mutants of a tiny llama GGUF',
  input: (fx) => mutatedBytes(fx.gguf.bytes, readGGUF(fx.gguf.file).dataOffset),
  setup: ({ work }) => (x) => {
    const file = join(work, 'x.gguf');
    writeFileSync(file, x.bytes);
    for (const e of readGGUF(file).tensors.values()) readF32(e);
    loadAndFree(file);
  },
};

// Mutants of a quantized file reach the block layouts (scales, quants, row lengths) that an F32 file never has:
// the loader must refuse bad blocks with a FormatError, and a forward over what it accepts must not crash.
const ggufQuant: FuzzTarget<{ bytes: Uint8Array }> = {
  name: 'gguf-quant',
  what: 'readGGUF + loading a q4_0 GGUF as a model + one forward over its blocks, on mutants (header and data)',
  input: (fx) => mutatedBytes(fx.ggufQuant.bytes, readGGUF(fx.ggufQuant.file).dataOffset + 4096),
  setup: ({ work }) => (x) => {
    const file = join(work, 'x.gguf');
    writeFileSync(file, x.bytes);
    const loaded = loadModelFromPath(file);
    try {
      tidy(() => loaded.model.forward(Int32Array.of(1, 2, 3)).f32()[0]);
    } finally {
      loaded.model.dispose();
    }
  },
};

type VocabEdit = { key: string; mode: 'replace' | 'element' | 'delete'; index: number; value: unknown };
const ggufVocab: FuzzTarget<{ edits: VocabEdit[]; text: string }> = {
  name: 'gguf-vocab',
  what: 'fromGGUFMetadata + encode/decode, on the tiny GGUF\'s tokenizer.ggml.* metadata with fields or array elements replaced',
  input: (fx) => {
    const keys = Object.keys(fx.gguf.metadata).filter((k) => k.startsWith('tokenizer.'));
    const value = fc.oneof(hostileJson, anyText, fc.constantFrom('<0x41>', '<0xZZ>', '▁', '', '<unk>', '<s>', 'gpt2', 'llama', 'Ġ', 'a b'), fc.integer({ min: -2, max: 8 }));
    return fc.record({
      edits: fc.array(fc.record({ key: fc.constantFrom(...keys), mode: fc.constantFrom('replace' as const, 'element' as const, 'delete' as const), index: fc.nat(), value }), { minLength: 1, maxLength: 4 }),
      text: anyText,
    });
  },
  setup: ({ fx }) => (x) => {
    const meta: Record<string, unknown> = { ...fx.gguf.metadata };
    for (const e of x.edits) {
      if (e.mode === 'delete') delete meta[e.key];
      else if (e.mode === 'replace' || !Array.isArray(meta[e.key])) meta[e.key] = e.value;
      else {
        const arr = [...(meta[e.key] as unknown[])];
        arr[e.index % Math.max(1, arr.length)] = e.value;
        meta[e.key] = arr;
      }
    }
    exercise(fromGGUFMetadata(meta, 'x.gguf'), x.text);
  },
};

const llama2c: FuzzTarget<{ bytes: Uint8Array }> = {
  name: 'llama2c',
  what: 'loading a llama2.c checkpoint (header, exact size, weights) with tok512.bin, on mutants of a tiny model',
  input: (fx) => mutatedBytes(fx.llama2c.bytes, 64),
  setup: ({ work, fx }) => (x) => {
    const file = join(work, 'x.bin');
    writeFileSync(file, x.bytes);
    loadAndFree(file, fx.llama2c.tokenizer);
  },
};

const llama2cTokenizer: FuzzTarget<{ bytes: { bytes: Uint8Array }; text: string; sized: boolean }> = {
  name: 'llama2c-tokenizer',
  what: 'SentencePieceTokenizer.fromLlama2cFile + encode/decode and readLlama2cTokenizerFile, on mutants of tok512.bin',
  input: (fx) => fc.record({ bytes: mutatedBytes(fx.llama2c.tokenizerBytes, 4000), text: anyText, sized: fc.boolean() }),
  setup: ({ work }) => (x) => {
    const file = join(work, 'tok.bin');
    writeFileSync(file, x.bytes.bytes);
    try {
      readLlama2cTokenizerFile(file, x.sized ? 512 : undefined);
    } finally {
      exercise(SentencePieceTokenizer.fromLlama2cFile(file, x.sized ? 512 : undefined), x.text);
    }
  },
};

type FileEdit = { file: string; json?: JsonOp; bytes?: ByteOp[] };

/** Per scratch folder: the file left mutated by the previous run (the others hold the fixture's bytes). */
const dirty = new Map<string, string | null>();
const parsedJson = new WeakMap<Uint8Array, unknown>();

/**
 * Makes `dir` hold the fixture folder with one file edited. The whole folder is written once; after that only
 * the previous run's edited file is restored and the new one written (rewriting every file cost 8 ms a run).
 */
function editedFolder(files: Record<string, Uint8Array>, dir: string, e: FileEdit): void {
  const prev = dirty.get(dir);
  if (prev === undefined) {
    mkdirSync(dir, { recursive: true });
    for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
  } else if (prev !== null && prev !== e.file) {
    writeFileSync(join(dir, prev), files[prev]);
  }
  const base = files[e.file];
  if (e.json) {
    let doc = parsedJson.get(base);
    if (doc === undefined) parsedJson.set(base, (doc = JSON.parse(Buffer.from(base).toString('utf8')) as unknown));
    writeFileSync(join(dir, e.file), applyJsonOp(doc, e.json));
  } else {
    writeFileSync(join(dir, e.file), applyByteOps(base, e.bytes ?? []));
  }
  dirty.set(dir, e.file);
}

/** An edit of one file of a folder: JSON files get JSON mutations, binary files byte mutations. */
function folderEdit(names: string[], weights: Record<string, number> = {}): fc.Arbitrary<FileEdit> {
  return fc.oneof(...names.map((file) => ({
    weight: weights[file] ?? 1,
    arbitrary: file.endsWith('.json')
      ? jsonOps().map((json): FileEdit => ({ file, json }))
      : byteOps(file.endsWith('.safetensors') ? 300 : 64).map((bytes): FileEdit => ({ file, bytes })),
  })));
}

const hfModel: FuzzTarget<FileEdit> = {
  name: 'hf-model',
  what: 'loading a Hugging Face folder with config.json, tokenizer_config.json or model.safetensors mutated',
  input: () => folderEdit(['config.json', 'tokenizer_config.json', 'model.safetensors'], { 'config.json': 3 }),
  setup: ({ work, fx }) => (x) => {
    const dir = join(work, 'hf');
    editedFolder(fx.hf.files, dir, x);
    loadAndFree(dir);
  },
};

const tokenizerJson: FuzzTarget<{ json: JsonOp; text: string; config: boolean }> = {
  name: 'tokenizer-json',
  what: 'HFTokenizer.fromFiles + encode/decode, on mutants of a 512-token tokenizer.json',
  input: () => fc.record({ json: jsonOps(), text: anyText, config: fc.boolean() }),
  setup: ({ work, fx }) => {
    const base = JSON.parse(Buffer.from(fx.hf.files['tokenizer.json']).toString('utf8')) as unknown;
    const tc = join(work, 'tokenizer_config.json');
    writeFileSync(tc, fx.hf.files['tokenizer_config.json']);
    return (x) => {
      const file = join(work, 'tokenizer.json');
      writeFileSync(file, applyJsonOp(base, x.json));
      exercise(HFTokenizer.fromFiles(file, x.config ? tc : undefined), x.text);
    };
  },
};

const adapter: FuzzTarget<{ kind: 'lora' | 'gm'; edit: FileEdit }> = {
  name: 'adapter',
  what: 'loadAdapter + readAbsorbed on LoRA and Gated Memory folders with one file mutated (manifest, configs, weights, document.json)',
  input: (fx) => fc.oneof(
    ...(['lora', 'gm'] as const).map((kind) => folderEdit(Object.keys(fx.adapters.files[kind]).filter((n) => n !== 'document.txt')).map((edit) => ({ kind, edit }))),
  ),
  setup: ({ work, fx }) => {
    const base = loadModelFromPath(fx.hf.dir);
    const ref = { model: base.model, id: 'tiny', revision: null };
    return (x) => {
      const dir = join(work, `${x.kind}.lift`);
      editedFolder(fx.adapters.files[x.kind], dir, x.edit);
      try {
        loadAdapter(dir, ref).adapter.dispose();
      } finally {
        readAbsorbed(dir);
      }
    };
  },
};

/**
 * A document absorbed in parts (lift absorb --parts): lift_parts.json (or document.json) mutated over a folder
 * whose one part is the LoRA fixture; read as ask does (readAbsorbed: the list is the manifest) and as the
 * router's loading does (partDirs).
 */
const partsFolder: FuzzTarget<FileEdit> = {
  name: 'parts-folder',
  what: 'readAbsorbed + partDirs on a folder of part adapters with lift_parts.json or document.json mutated',
  input: () => folderEdit(['lift_parts.json', 'document.json'], { 'lift_parts.json': 3 }),
  setup: ({ work, fx }) => {
    const part = fx.adapters.files.lora;
    const text = part['document.txt'];
    const list = { format_version: 1, base_model: { id: 'tiny', revision: null }, document_sha256: createHash('sha256').update(text).digest('hex'), part_tokens: 100, parts: ['part-01'], tokens: [100] };
    const files: Record<string, Uint8Array> = { 'document.txt': text, 'document.json': part['document.json'], 'lift_parts.json': new Uint8Array(Buffer.from(JSON.stringify(list))) };
    const dir = join(work, 'parts.lift');
    mkdirSync(join(dir, 'part-01'), { recursive: true });
    for (const [n, b] of Object.entries(part)) writeFileSync(join(dir, 'part-01', n), b);
    return (x) => {
      editedFolder(files, dir, x);
      try {
        readAbsorbed(dir);
      } finally {
        partDirs(dir);
      }
    };
  },
};

const checkpoint: FuzzTarget<FileEdit> = {
  name: 'checkpoint',
  what: 'loadCheckpoint (trainer.json + state.safetensors) into the LoRA adapter\'s tensors, one file mutated',
  input: () => folderEdit(['trainer.json', 'state.safetensors']),
  setup: ({ work, fx }) => {
    const make = () => fx.checkpoint.shapes.map((s) => Tensor.zeros(s.shape, { name: s.name }));
    const params = make(), m = make(), v = make();
    const dir = join(work, 'run');
    return (x) => {
      editedFolder(fx.checkpoint.files, checkpointPath(dir), x);
      loadCheckpoint(dir, fx.checkpoint.fingerprint, params, m, v);
    };
  },
};

/** Python-literal fragments: most random strings die at the first character; these reach the inner grammar. */
const PY_TOKENS = ['{', '}', '[', ']', '(', ')', ',', ':', "'", '"', '\\', "'''", '"""', 'b', 'r', 'u', 'f', 'rb', '0x', '0o', '0b', '1e', '1_0', '.5',
  '-', '+', 'j', 'True', 'False', 'None', 'set()', 'frozenset', '...', '\n', ' ', '\t', '#', '\\x4', '\\u00e9', '\\N{DASH}', '\\U0001F600', 'é', '日', '\ud800', '9'.repeat(30)];
/** Valid Python literals (nested lists, tuples, dicts, sets; every number and string spelling), so the parser's
 *  success paths are fuzzed too; mutations of them (below) reach the error paths deep inside. */
const pyValid: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('True', 'False', 'None', '0', '-0', '1_000', '0x1F', '0o17', '0b101', '1e-3', '.5', '5.', '1E+308', '1e999', '7'),
    fc.integer().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => String(d)),
    fc.string({ maxLength: 12 }).map((x) => `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`),
    fc.constantFrom("'\\x41\\u00e9\\U0001F600\\n'", 'r"\\d+"', "b'\\x00\\xff'", '"""tri\nple"""', "u'x'", "'a' 'b'"),
    fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
    fc.array(tie('value'), { maxLength: 3 }).map((xs) => (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`)),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((kv) => `{${kv.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
    fc.array(tie('value'), { minLength: 1, maxLength: 3 }).map((xs) => `{${xs.join(', ')}}`),
  ),
})).value;

const pyliteral: FuzzTarget<{ src: string; map: boolean }> = {
  name: 'pyliteral',
  what: 'parsePyLiteral (LooGLE\'s qa_pairs) on random text, token soup and mutated valid literals, dicts as objects and as Maps',
  input: () => {
    const valid = "[{'Q': 'Who?', 'A': \"It's \\\"Bob\\\"\", 'S': (1, 2.5e-3, -0x1F, None, True), 'b': b'\\x00\\xff', 's': {1, 2}, 'n': 10**0}]";
    return fc.record({
      src: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 64 }),
        fc.array(fc.constantFrom(...PY_TOKENS), { maxLength: 40 }).map((t) => t.join('')),
        fc.tuple(fc.nat(valid.length), fc.nat(valid.length), fc.array(fc.constantFrom(...PY_TOKENS), { maxLength: 4 }))
          .map(([a, b, ins]) => valid.slice(0, Math.min(a, b)) + ins.join('') + valid.slice(Math.max(a, b))),
        fc.integer({ min: 1, max: 20000 }).map((n) => '['.repeat(n) + ']'.repeat(n % 3 === 0 ? n : 0)),
        pyValid,
        fc.tuple(pyValid, fc.nat(), fc.array(fc.constantFrom(...PY_TOKENS), { maxLength: 3 })).map(([v, at, ins]) => v.slice(0, at % (v.length + 1)) + ins.join('') + v.slice(at % (v.length + 1))),
      ),
      map: fc.boolean(),
    });
  },
  setup: () => (x) => void parsePyLiteral(x.src, { dicts: x.map ? 'map' : 'object' }),
};

const documentReader: FuzzTarget<{ bytes: Uint8Array }> = {
  name: 'document',
  what: 'readDocument on random bytes and text with BOMs, CRLF, NUL, invalid UTF-8, whitespace only',
  input: () => fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ bytes })),
    fc.tuple(fc.constantFrom('', '\ufeff', '\r\n', '\u0000', ' \n\t'), anyText, fc.constantFrom('', '\r', '\r\n', '\ufeff'))
      .map(([a, b, c]) => ({ bytes: new Uint8Array(Buffer.from(a + b + c, 'utf8')) })),
    fc.tuple(anyText, fc.uint8Array({ minLength: 1, maxLength: 4 }), anyText)
      .map(([a, bad, b]) => ({ bytes: new Uint8Array(Buffer.concat([Buffer.from(a, 'utf8'), bad, Buffer.from(b, 'utf8')])) })),
  ),
  setup: ({ work }) => (x) => {
    const file = join(work, 'doc.txt');
    writeFileSync(file, x.bytes);
    readDocument(file);
  },
};

const qaCache: FuzzTarget<{ json: JsonOp }> = {
  name: 'qa-cache',
  what: 'readQACache on mutants of a valid cache file: a bad file must be a warning and a miss, never a throw',
  input: () => fc.record({ json: jsonOps() }),
  setup: ({ work }) => {
    const expect = { documentSha256: sha256('doc'), generator: 'builtin', n: 2, seed: 0 };
    const base = { version: 1, ...expect, qas: [{ question: 'Q?', answer: 'A', evidence: ['e'] }, { question: 'R?', answer: 'B', evidence: [] }] };
    return async (x) => {
      const file = join(work, 'qa.json');
      writeFileSync(file, applyJsonOp(base, x.json));
      const got = await readQACache(file, expect, () => undefined);
      if (got !== null && !(Array.isArray(got) && got.every((q) => typeof q.question === 'string'))) throw new Error(`readQACache returned ${typeof got}`);
    };
  },
};

/**
 * Not a parser: checks the harness itself (test/fuzz/fuzz.test.ts). With LIFT_FUZZ_CANARY naming a folder, the
 * first run anywhere aborts the process, the first run after that takes 1.2 s of CPU time, and then every tenth input
 * throws a TypeError and every tenth a FormatError; the runner must count 1 crash, 1 hang and the untyped errors.
 */
const canary: FuzzTarget<number> = {
  name: '_canary',
  what: 'the harness\'s own check: a crash, a hang and untyped errors on purpose',
  input: () => fc.nat(99),
  setup: () => (n) => {
    const dir = process.env.LIFT_FUZZ_CANARY;
    if (!dir) throw new Error('_canary needs LIFT_FUZZ_CANARY');
    const once = (name: string): boolean => {
      const p = join(dir, name);
      if (existsSync(p)) return false;
      writeFileSync(p, '');
      return true;
    };
    if (once('crashed')) process.abort();
    if (once('hung')) {
      const cpu0 = process.cpuUsage(); // 1.2 s of CPU time, however loaded the machine is
      while ((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1000 < 1200);
    }
    if (n % 10 === 0) throw new TypeError('canary: an untyped error');
    if (n % 10 === 1) throw new FormatError('canary', 'field', 'something');
  },
};

export const TARGETS: FuzzTarget<never>[] = [
  safetensors, gguf, ggufQuant, ggufVocab, llama2c, llama2cTokenizer, hfModel, tokenizerJson, adapter, partsFolder, checkpoint, pyliteral, documentReader, ...FORMAT_TARGETS, qaCache, canary,
] as unknown as FuzzTarget<never>[];

/** The parser targets (the ones `npm run fuzz` runs by default). */
export const PARSER_TARGETS = TARGETS.filter((t) => !t.name.startsWith('_')).map((t) => t.name);

export function targetNamed(name: string): FuzzTarget<unknown> {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}" (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t as unknown as FuzzTarget<unknown>;
}

