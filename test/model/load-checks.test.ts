// Load-time checks in every format (issue 11, items 2 and 4): a non-finite base weight is refused naming the
// tensor; a config that declares fewer layers than the file holds is refused (running the first N would be
// silently wrong); a file is recognised by its first bytes, and a wrong one is reported with what was found;
// bytes quoted from a file in a message are escaped and capped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/io/errors.js';
import { readGGUF, writeGGUF, type GGUFTensorInput } from '../../src/io/gguf.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { readF32 } from '../../src/io/tensor-entry.js';
import { loadModelFromPath } from '../../src/model/load.js';
import { requireShared } from '../helpers/shared.js';
import { makeFixtures, type Fixtures } from '../fuzz/fixtures.js';
import { throwsFormat } from '../helpers/format-errors.js';

let shared: { dir: string; fx: Fixtures } | undefined;
function fixtures(): Fixtures {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), 'lift-load-checks-'));
    shared = { dir, fx: makeFixtures(join(dir, 'fx')) };
  }
  return shared.fx;
}
test.after(() => { if (shared) rmSync(shared.dir, { recursive: true, force: true }); });

const loads = (path: string, tokenizer?: string): void => loadModelFromPath(path, { tokenizer }).model.dispose();

/** Copies `file` to a scratch path with one float32 (or, for F16, half) element overwritten. */
function withValueAt(file: string, byteOffset: number, dtype: string, value: number, name: string): string {
  const b = Buffer.from(readFileSync(file));
  if (dtype === 'F32') b.writeFloatLE(value, byteOffset);
  else b.writeUInt16LE(Number.isNaN(value) ? 0x7e00 : value > 0 ? 0x7c00 : 0xfc00, byteOffset); // F16 NaN / ±inf
  const out = join(shared!.dir, name);
  writeFileSync(out, b);
  return out;
}

test('a NaN or infinite base weight is refused naming the tensor, in llama2.c, GGUF and safetensors', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const fx = fixtures();
  // llama2.c: the first float after the 28-byte header is token 0's embedding.
  for (const v of [NaN, Infinity]) {
    const bin = withValueAt(fx.llama2c.model, 28 + 4 * 100, 'F32', v, `nan-${v}.bin`);
    throwsFormat(() => loads(bin, fx.llama2c.tokenizer), /tensor "model\.embed_tokens\.weight"/, /finite weights/, new RegExp(`element 100 is ${v}`));
  }
  // GGUF: a layer-1 weight, reported under its GGUF name.
  const g = readGGUF(fx.gguf.file).tensors.get('blk.1.ffn_down.weight')!;
  const gg = withValueAt(fx.gguf.file, g.byteOffset + (g.dtype === 'F32' ? 4 : 2) * 5, g.dtype, -Infinity, 'nan.gguf');
  throwsFormat(() => loads(gg), /tensor "blk\.1\.ffn_down\.weight"/, /element 5 is -Infinity/);
  // safetensors folder: the final norm.
  const dir = join(shared!.dir, 'nan-hf');
  copyFolder(fx.hf.files, dir);
  const e = readSafetensors(join(dir, 'model.safetensors')).tensors.get('model.norm.weight')!;
  withValueAt(join(dir, 'model.safetensors'), e.byteOffset + 8, e.dtype, NaN, 'nan-hf/model.safetensors');
  throwsFormat(() => loads(dir), /model\.safetensors: tensor "model\.norm\.weight"/, /element 2 is NaN/);
  // Unchanged files still load (the check passes finite weights).
  loads(fx.llama2c.model, fx.llama2c.tokenizer);
  loads(fx.gguf.file);
  loads(fx.hf.dir);
});

function copyFolder(files: Record<string, Uint8Array>, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
}

test('a config that declares fewer layers than the file holds is refused (safetensors folder and GGUF)', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const fx = fixtures();
  const dir = join(shared!.dir, 'layers-hf');
  copyFolder(fx.hf.files, dir);
  const cfg = JSON.parse(Buffer.from(fx.hf.files['config.json']).toString('utf8')) as Record<string, unknown>;
  assert.equal(cfg.num_hidden_layers, 2);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 1 }));
  throwsFormat(() => loads(dir), /config\.json: "num_hidden_layers": expected 2: model\.safetensors holds 2 layers/, /got 1/);

  // GGUF: block_count 1 over a file with blk.0 and blk.1.
  const ck = readGGUF(fx.gguf.file);
  const entries = ck.entries.map((e) => (e.key === 'llama.block_count' ? { ...e, value: 1 } : e));
  const tensors: GGUFTensorInput[] = [...ck.tensors.values()].map((e) => ({ name: e.name, dtype: 'F32', shape: e.shape, data: readF32(e) }));
  const file = join(shared!.dir, 'one-layer.gguf');
  writeGGUF(file, entries, tensors);
  throwsFormat(() => loads(file), /one-layer\.gguf: "num_hidden_layers": expected 2/, /got 1/);

  // llama2.c has no separate config: its header's n_layers fixes the exact file size, so a smaller n_layers is a size error.
  const bin = Buffer.from(fx.llama2c.bytes);
  bin.writeInt32LE(1, 8);
  const b = join(shared!.dir, 'one-layer.bin');
  writeFileSync(b, bin);
  throwsFormat(() => loads(b, fx.llama2c.tokenizer), /file size/, /trailing data/);
});

test('formats are told apart by their first bytes; a wrong signature is reported with what was found', (t) => {
  if (!requireShared(t, 'models/stories260K/tok512.bin')) return;
  const fx = fixtures();
  const put = (name: string, bytes: Uint8Array | string): string => {
    const p = join(shared!.dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  // A .gguf whose magic is damaged: a GGUF error naming the bytes, not "bad llama2.c header".
  const damaged = Buffer.from(fx.gguf.bytes);
  damaged.write('GGUX', 0, 'latin1');
  throwsFormat(() => loads(put('damaged.gguf', damaged)), /damaged\.gguf: magic: expected "GGUF"/, /found first bytes "GGUX/, /hex 47475558/);
  // The same bytes under another name: still not taken for llama2.c.
  throwsFormat(() => loads(put('damaged.bin', damaged)), /damaged\.bin: magic: expected a GGUF file/, /"GGUX/);
  // What people pass by mistake is named.
  throwsFormat(() => loads(put('pytorch_model.bin', Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60)]))), /a zip archive/);
  throwsFormat(() => loads(put('page.bin', '<!DOCTYPE html><html>Not found</html>')), /text \(an HTML page/);
  // A real GGUF under a .bin name loads as GGUF (by magic, not by extension).
  loads(put('renamed.bin', fx.gguf.bytes));
  // A JSON file of a model folder (as a sharded model is named by its index) loads the folder, as before.
  loads(join(fx.hf.dir, 'config.json'));
  // And a safetensors file with a broken header start is reported as such.
  const st = Buffer.from(fx.hf.files['model.safetensors']);
  st[8] = 0x5b; // '[' instead of '{'
  throwsFormat(() => loads(put('x.safetensors', st)), /x\.safetensors: header: expected a u64 header length then "\{"/);
});

test('bytes quoted from a file are escaped and capped: a 2 MB GGUF key gives a short one-line message', () => {
  const dir = shared?.dir ?? mkdtempSync(join(tmpdir(), 'lift-load-checks-'));
  const key = 'k\n\u0000'.padEnd(2_100_000, 'x');
  const keyBytes = Buffer.from(key, 'utf8');
  const head = Buffer.alloc(24);
  head.write('GGUF', 0, 'latin1');
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(0n, 8); // tensors
  head.writeBigUInt64LE(1n, 16); // one metadata entry
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(keyBytes.length));
  const type = Buffer.alloc(4);
  type.writeUInt32LE(99); // not a GGUF value type
  const file = join(dir, 'long-key.gguf');
  writeFileSync(file, Buffer.concat([head, len, keyBytes, type]));
  assert.throws(() => readGGUF(file), (e: unknown) => {
    assert.ok(e instanceof FormatError);
    assert.ok(e.message.length < 300, `message of ${e.message.length} characters`);
    assert.match(e.message, /^long-key\.gguf: metadata "k\\n\\u0000x+…": expected value type 0\.\.12, got 99$/);
    return true;
  });
  if (!shared) rmSync(dir, { recursive: true, force: true });
});
