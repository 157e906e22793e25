// Model resolution (src/io/hub.ts) without touching the network: offline resolution from a fixture cache in
// the standard Hugging Face layout, and the download path against a local HTTP server standing in for the Hub
// (@huggingface/hub takes `hubUrl`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseModelSpec, repoFolderName, resolveModelFiles, type DownloadProgress } from '../../src/io/hub.js';

const C1 = 'a'.repeat(40);
const C2 = '0123456789abcdef0123456789abcdef01234567';

/** models--org--name with snapshots for two commits, refs/main -> C1 and refs/v2 -> C2, a subfolder, and a .no_exist. */
function fixtureCache(): string {
  const cache = mkdtempSync(join(tmpdir(), 'lift-hub-'));
  const repo = join(cache, 'models--org--name');
  mkdirSync(join(repo, 'snapshots', C1, 'sub'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', C2), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  mkdirSync(join(repo, '.no_exist', C1), { recursive: true });
  writeFileSync(join(repo, 'snapshots', C1, 'config.json'), '{"v":1}');
  writeFileSync(join(repo, 'snapshots', C1, 'sub', 'config.json'), '{"v":"sub"}');
  writeFileSync(join(repo, 'snapshots', C2, 'config.json'), '{"v":2}');
  writeFileSync(join(repo, 'refs', 'main'), `${C1}\n`);
  writeFileSync(join(repo, 'refs', 'v2'), C2);
  writeFileSync(join(repo, '.no_exist', C1, 'generation_config.json'), '');
  return cache;
}
const read = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

test('parseModelSpec: local paths, repo ids, revisions, conflicts', () => {
  assert.deepEqual(parseModelSpec('org/name'), { kind: 'hub', repo: 'org/name', revision: 'main', subfolder: '' });
  assert.deepEqual(parseModelSpec('org/name@v2.0', { subfolder: 'gguf/' }), { kind: 'hub', repo: 'org/name', revision: 'v2.0', subfolder: 'gguf' });
  assert.equal(parseModelSpec('org/name', { revision: C1 }).kind === 'hub' && (parseModelSpec('org/name', { revision: C1 }) as { revision: string }).revision, C1);
  assert.equal(parseModelSpec('./models/x').kind, 'local');
  assert.equal(parseModelSpec('/abs/model.gguf').kind, 'local');
  assert.throws(() => parseModelSpec('org/name@a', { revision: 'b' }), /conflicting revisions/);
  assert.throws(() => parseModelSpec('not a repo'), /neither an existing path nor a Hub repo id/);
  assert.throws(() => parseModelSpec('org/name', { subfolder: '../x' }), /relative path inside the repository/);
  assert.equal(repoFolderName('org/name'), 'models--org--name');
});

test('offline: refs/main -> snapshot; revision by ref name, by commit, by @; subfolder; optional files', async () => {
  const cacheDir = fixtureCache();
  const r = await resolveModelFiles('org/name', ['config.json'], { offline: true, cacheDir });
  assert.equal(r.commit, C1);
  assert.equal(r.dir, join(cacheDir, 'models--org--name', 'snapshots', C1));
  assert.deepEqual(read(r.files['config.json']), { v: 1 });
  assert.deepEqual(read((await resolveModelFiles('org/name@v2', ['config.json'], { offline: true, cacheDir })).files['config.json']), { v: 2 });
  assert.deepEqual(read((await resolveModelFiles('org/name', ['config.json'], { revision: 'v2', offline: true, cacheDir })).files['config.json']), { v: 2 });
  assert.deepEqual(read((await resolveModelFiles('org/name', ['config.json'], { revision: C2, offline: true, cacheDir })).files['config.json']), { v: 2 });
  const sub = await resolveModelFiles('org/name', ['config.json'], { subfolder: 'sub', offline: true, cacheDir });
  assert.deepEqual(read(sub.files['config.json']), { v: 'sub' });
  const opt = await resolveModelFiles('org/name', ['config.json'], { offline: true, cacheDir, optional: ['generation_config.json'] });
  assert.deepEqual(Object.keys(opt.files), ['config.json']);
});

test('offline: HF_HUB_OFFLINE=1 and HF_HUB_CACHE are honoured', async () => {
  const cacheDir = fixtureCache();
  const saved = { o: process.env.HF_HUB_OFFLINE, c: process.env.HF_HUB_CACHE };
  process.env.HF_HUB_OFFLINE = '1';
  process.env.HF_HUB_CACHE = cacheDir;
  try {
    const r = await resolveModelFiles('org/name', ['config.json']);
    assert.equal(r.commit, C1);
  } finally {
    if (saved.o === undefined) delete process.env.HF_HUB_OFFLINE; else process.env.HF_HUB_OFFLINE = saved.o;
    if (saved.c === undefined) delete process.env.HF_HUB_CACHE; else process.env.HF_HUB_CACHE = saved.c;
  }
});

test('offline: a missing file or revision names the repo, revision, file and how to provide it', async () => {
  const cacheDir = fixtureCache();
  await assert.rejects(resolveModelFiles('org/name@v2', ['config.json', 'model.safetensors'], { offline: true, cacheDir }), (e: Error) => {
    assert.match(e.message, /org\/name revision "v2" \(commit 0123456789abcdef/);
    assert.match(e.message, /file model\.safetensors is not in the Hugging Face cache/);
    assert.match(e.message, /huggingface-cli download org\/name --revision v2/);
    assert.match(e.message, /pass a local path/);
    return true;
  });
  await assert.rejects(resolveModelFiles('org/name', ['generation_config.json'], { offline: true, cacheDir }), /records that the repo has no such file/);
  await assert.rejects(resolveModelFiles('org/other', ['config.json'], { offline: true, cacheDir }),
    /org\/other at revision "main" is not in the Hugging Face cache.*huggingface-cli download org\/other/);
});

test('local folder and local file specs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lift-local-'));
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'model.gguf'), 'x');
  const r = await resolveModelFiles(dir, ['config.json'], { optional: ['tokenizer.json'] });
  assert.deepEqual(r, { dir, files: { 'config.json': join(dir, 'config.json') } });
  const f = await resolveModelFiles(join(dir, 'model.gguf'), []);
  assert.deepEqual(f.files, { 'model.gguf': join(dir, 'model.gguf') });
  await assert.rejects(resolveModelFiles(dir, ['tokenizer.json']), /has no tokenizer\.json/);
  await assert.rejects(resolveModelFiles(join(dir, 'nope'), []), /does not exist/);
});

/** A minimal Hub: /api/models/<repo>/revision/<rev> and /<repo>/resolve/<commit>/<path> with Range support. */
async function fakeHub(files: Record<string, Buffer>): Promise<{ url: string; ranges: string[]; close: () => Promise<void> }> {
  const ranges: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/models/org/name/revision/main') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ _id: 'id', id: 'org/name', sha: C2 }));
      return;
    }
    const m = /^\/org\/name\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const body = m && m[1] === C2 ? files[decodeURIComponent(m[2])] : undefined;
    if (!body) { res.statusCode = 404; res.setHeader('X-Error-Code', 'EntryNotFound'); res.end('not found'); return; }
    res.setHeader('ETag', `"etag-${m![2].replace(/\W/g, '_')}"`);
    const range = req.headers.range;
    if (range) {
      ranges.push(range);
      const [, a, b] = /bytes=(\d+)-(\d*)/.exec(range) ?? [];
      const start = Number(a), end = b ? Math.min(Number(b), body.length - 1) : body.length - 1;
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${body.length}`);
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, ranges, close: () => new Promise((r) => server.close(() => r())) };
}

test('online (local fake Hub): downloads into the cache layout, writes refs, reports progress, resumes, then works offline', async () => {
  const big = Buffer.alloc(300_000, 7);
  big.write('tail', big.length - 4);
  const hub = await fakeHub({ 'config.json': Buffer.from('{"online":true}'), 'sub/model.bin': big });
  try {
    const cacheDir = mkdtempSync(join(tmpdir(), 'lift-hub-dl-'));
    const repo = join(cacheDir, 'models--org--name');
    // a previous interrupted download left 1000 bytes of the big file
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    writeFileSync(join(repo, 'blobs', 'etag-sub_model_bin.incomplete'), big.subarray(0, 1000));
    const progress: DownloadProgress[] = [];
    const r = await resolveModelFiles('org/name', ['config.json', 'sub/model.bin'], { cacheDir, hubUrl: hub.url, offline: false, onProgress: (p) => progress.push(p) });
    assert.equal(r.commit, C2);
    assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), C2);
    assert.deepEqual(read(r.files['config.json']), { online: true });
    assert.ok(readFileSync(r.files['sub/model.bin']).equals(big));
    assert.equal(r.files['sub/model.bin'], join(repo, 'snapshots', C2, 'sub', 'model.bin'));
    assert.ok(lstatSync(r.files['sub/model.bin']).isSymbolicLink());
    assert.equal(readlinkSync(r.files['sub/model.bin']), join('..', '..', '..', 'blobs', 'etag-sub_model_bin'));
    assert.ok(!existsSync(join(repo, 'blobs', 'etag-sub_model_bin.incomplete')));
    assert.ok(hub.ranges.includes(`bytes=1000-${big.length - 1}`), `resumed with a ranged read: ${hub.ranges.join(' ')}`);
    const last = progress.filter((p) => p.file === 'sub/model.bin').at(-1);
    assert.deepEqual(last, { file: 'sub/model.bin', loaded: big.length, total: big.length });
    await assert.rejects(resolveModelFiles('org/name', ['missing.json'], { cacheDir, hubUrl: hub.url, offline: false }), /org\/name revision "main".*has no file missing\.json/);
    const opt = await resolveModelFiles('org/name', ['config.json'], { cacheDir, hubUrl: hub.url, offline: false, optional: ['missing.json'] });
    assert.deepEqual(Object.keys(opt.files), ['config.json']);
    // everything downloaded resolves offline through refs/main
    const off = await resolveModelFiles('org/name', ['config.json', 'sub/model.bin'], { cacheDir, offline: true });
    assert.deepEqual(off.files, r.files);
  } finally {
    await hub.close();
  }
});

test('online: an unreachable Hub falls back to the cache', async () => {
  const cacheDir = fixtureCache();
  const r = await resolveModelFiles('org/name', ['config.json'], { cacheDir, hubUrl: 'http://127.0.0.1:9', offline: false });
  assert.equal(r.commit, C1);
  await assert.rejects(resolveModelFiles('org/name', ['nope.json'], { cacheDir, hubUrl: 'http://127.0.0.1:9', offline: false }), /the Hub could not be reached/);
});
