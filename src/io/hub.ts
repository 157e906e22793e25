// Resolves a `--model` argument to files on disk: a local file or folder, or a Hugging Face Hub repo id
// (`org/name`, `org/name@revision`) fetched into the standard Hugging Face cache, so models downloaded by
// Python's huggingface_hub are reused and ours are visible to it:
//   <cache>/models--org--name/blobs/<etag>                       file contents, named by their etag
//   <cache>/models--org--name/snapshots/<commit>/<path>          relative symlinks to the blobs
//   <cache>/models--org--name/refs/<revision>                    the commit a branch or tag pointed to
//   <cache>/models--org--name/.no_exist/<commit>/<path>          known-absent files (written by huggingface_hub)
// where <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
//
// Network access goes through @huggingface/hub (modelInfo for the commit, fileDownloadInfo and downloadFile
// for the bytes, which also handles Xet storage). Its downloadFileToCacheDir is not used because it writes no
// refs/ (so offline resolution could never find what it downloaded), files a file under the commit that last
// touched it rather than the requested revision's commit, reports no progress and cannot resume. Here bytes
// stream into blobs/<etag>.incomplete, resume from its length with a ranged read (Blob.slice), and are
// renamed into place only when complete, so an interrupted download never leaves a truncated blob.
// HF_HUB_OFFLINE=1 (or `offline`) resolves from the cache alone; a network failure falls back to the cache.
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadFile, fileDownloadInfo, modelInfo } from '@huggingface/hub';

export type ModelSpec =
  | { kind: 'local'; path: string }
  | { kind: 'hub'; repo: string; revision: string; subfolder: string };

export interface DownloadProgress { file: string; loaded: number; total: number }

export interface ResolveOptions {
  revision?: string;
  /** Folder inside the repo (or local folder) that holds the files. */
  subfolder?: string;
  /** Resolve from the cache only (default: HF_HUB_OFFLINE is 1/true/yes/on). */
  offline?: boolean;
  /** Cache root (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Files that may be absent (e.g. generation_config.json): left out of the result instead of failing. */
  optional?: string[];
  /** Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co). */
  hubUrl?: string;
  /** Access token (default: HF_TOKEN) for gated and private repos. */
  accessToken?: string;
  fetch?: typeof fetch;
}

export interface ResolvedModel {
  /** Folder holding the files (the snapshot folder, plus subfolder, for a Hub repo). */
  dir: string;
  /** Requested file name -> absolute path, for each file found. */
  files: Record<string, string>;
  /** The commit the files come from (Hub repos only). */
  commit?: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

const envTrue = (v: string | undefined): boolean => /^(1|true|yes|on)$/i.test(v ?? '');

/** The Hugging Face Hub cache folder, as huggingface_hub computes it. */
export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** models--org--name */
export const repoFolderName = (repo: string): string => ['models', ...repo.split('/')].join('--');

/** Safe relative path inside a repo: no absolute paths, no '..' (a repo must not write outside its folder). */
function checkRepoPath(p: string, what: string): string {
  const norm = p.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p) || norm.split('/').some((s) => s === '..')) {
    throw new Error(`${what} "${p}" must be a relative path inside the repository (no leading '/', no '..')`);
  }
  return norm;
}

/**
 * Parses a `--model` value. An existing path, or anything path-like ('./x', '/x', '~/x', 'C:\x'), is local;
 * `org/name` or `org/name@revision` is a Hub repo. A revision in both the spec and `opts` must agree.
 */
export function parseModelSpec(spec: string, opts: { revision?: string; subfolder?: string } = {}): ModelSpec {
  if (spec.length === 0) throw new Error('empty model spec: pass a local path or a Hub repo id like org/name');
  const expanded = spec.startsWith('~/') ? join(homedir(), spec.slice(2)) : spec;
  if (existsSync(expanded) || /^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/.test(spec) || spec.includes('\\')) {
    return { kind: 'local', path: resolve(expanded) };
  }
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const specRev = at < 0 ? undefined : spec.slice(at + 1);
  if (!REPO_ID.test(repo) || repo.includes('..') || (specRev !== undefined && !/^[\w./-]+$/.test(specRev))) {
    throw new Error(`"${spec}" is neither an existing path nor a Hub repo id (org/name or org/name@revision)`);
  }
  if (specRev !== undefined && opts.revision !== undefined && specRev !== opts.revision) {
    throw new Error(`conflicting revisions for ${repo}: "${specRev}" in the model spec and "${opts.revision}" from --revision`);
  }
  return { kind: 'hub', repo, revision: specRev ?? opts.revision ?? 'main', subfolder: checkRepoPath(opts.subfolder ?? '', 'subfolder') };
}

/** Finds `files` for a model spec, downloading Hub files into the cache unless offline. */
export async function resolveModelFiles(spec: string, files: string[], opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const s = parseModelSpec(spec, opts);
  if (s.kind === 'local') return resolveLocal(s.path, files, opts);
  const cache = opts.cacheDir ?? hubCacheDir();
  const offline = opts.offline ?? envTrue(process.env.HF_HUB_OFFLINE);
  if (offline) return resolveFromCache(s, files, cache, opts.optional ?? [], true);
  return downloadToCache(s, files, cache, opts);
}

function resolveLocal(path: string, files: string[], opts: ResolveOptions): ResolvedModel {
  if (!existsSync(path)) throw new Error(`model path ${path} does not exist`);
  const isFile = statSync(path).isFile();
  const dir = isFile ? dirname(path) : join(path, checkRepoPath(opts.subfolder ?? '', 'subfolder'));
  const out: Record<string, string> = {};
  if (isFile) out[relative(dir, path)] = path;
  const optional = new Set(opts.optional ?? []);
  for (const f of [...files, ...optional]) {
    const p = join(dir, checkRepoPath(f, 'file'));
    if (existsSync(p)) out[f] = p;
    else if (!optional.has(f)) throw new Error(`model folder ${dir} has no ${f}`);
  }
  return { dir, files: out };
}

function howToProvide(repo: string, revision: string): string {
  const rev = revision === 'main' ? '' : ` --revision ${revision}`;
  return `download it on a connected machine with \`huggingface-cli download ${repo}${rev}\` (then copy the cache folder ` +
    `${repoFolderName(repo)} into HF_HUB_CACHE), or pass a local path to the model files instead`;
}

/** Offline resolution: refs/<revision> -> snapshots/<commit>/<subfolder>/<file>. */
function resolveFromCache(s: Extract<ModelSpec, { kind: 'hub' }>, files: string[], cache: string, optional: string[], offline: boolean): ResolvedModel {
  const repoDir = join(cache, repoFolderName(s.repo));
  const why = offline ? 'offline mode (HF_HUB_OFFLINE or --offline)' : 'the Hub could not be reached';
  let commit = s.revision;
  if (!COMMIT.test(commit)) {
    const ref = join(repoDir, 'refs', ...s.revision.split('/'));
    if (!existsSync(ref)) {
      throw new Error(`${s.repo} at revision "${s.revision}" is not in the Hugging Face cache ${cache} (no ${relative(cache, ref)}), ` +
        `and ${why}: ${howToProvide(s.repo, s.revision)}`);
    }
    commit = readFileSync(ref, 'utf8').trim();
  }
  const dir = join(repoDir, 'snapshots', commit, s.subfolder);
  const out: Record<string, string> = {};
  for (const f of [...files, ...optional]) {
    const p = join(dir, checkRepoPath(f, 'file'));
    if (existsSync(p)) { out[f] = p; continue; }
    if (optional.includes(f)) continue;
    const inRepo = s.subfolder ? `${s.subfolder}/${f}` : f;
    const absent = existsSync(join(repoDir, '.no_exist', commit, s.subfolder, f)) ? ' (the cache records that the repo has no such file)' : '';
    throw new Error(`${s.repo} revision "${s.revision}" (commit ${commit}): file ${inRepo} is not in the Hugging Face cache ${cache}${absent}, ` +
      `and ${why}: ${howToProvide(s.repo, s.revision)}`);
  }
  return { dir, files: out, commit };
}

const isNetworkError = (e: unknown): boolean => {
  const err = e as { name?: string; cause?: { code?: string }; code?: string };
  return err?.name === 'TypeError' || ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']
    .includes(err?.cause?.code ?? err?.code ?? '');
};

async function downloadToCache(s: Extract<ModelSpec, { kind: 'hub' }>, files: string[], cache: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const envToken = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const hub = {
    hubUrl: opts.hubUrl ?? process.env.HF_ENDPOINT,
    fetch: opts.fetch,
    // the library rejects tokens that do not look like Hub tokens; an unusable one is simply not sent
    accessToken: opts.accessToken ?? (envToken?.startsWith('hf_') ? envToken : undefined),
  };
  const repoDir = join(cache, repoFolderName(s.repo));
  let commit = s.revision;
  if (!COMMIT.test(commit)) {
    try {
      const info = await modelInfo({ ...hub, name: s.repo, revision: s.revision, additionalFields: ['sha'] });
      if (typeof info.sha !== 'string' || !COMMIT.test(info.sha)) throw new Error(`the Hub returned no commit for ${s.repo}@${s.revision}`);
      commit = info.sha;
    } catch (e) {
      if (!isNetworkError(e)) throw new Error(`cannot resolve ${s.repo} at revision "${s.revision}": ${(e as Error).message}`);
      return resolveFromCache(s, files, cache, opts.optional ?? [], false); // as huggingface_hub does when the Hub is unreachable
    }
    const ref = join(repoDir, 'refs', ...s.revision.split('/'));
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, commit);
  }
  const dir = join(repoDir, 'snapshots', commit, s.subfolder);
  const out: Record<string, string> = {};
  const optional = opts.optional ?? [];
  for (const f of [...files, ...optional]) {
    const inRepo = (s.subfolder ? `${s.subfolder}/` : '') + checkRepoPath(f, 'file');
    const pointer = join(repoDir, 'snapshots', commit, inRepo);
    if (existsSync(pointer)) { out[f] = pointer; continue; }
    const info = await fileDownloadInfo({ ...hub, repo: s.repo, path: inRepo, revision: commit });
    if (!info) {
      if (optional.includes(f)) continue;
      throw new Error(`${s.repo} revision "${s.revision}" (commit ${commit}) has no file ${inRepo}`);
    }
    const etag = info.etag.replace(/^W\//, '').replace(/"/g, '');
    if (!/^[\w.-]+$/.test(etag)) throw new Error(`unexpected etag ${info.etag} for ${s.repo}/${inRepo}`);
    const blob = join(repoDir, 'blobs', etag);
    if (!existsSync(blob)) await fetchBlob(s.repo, inRepo, commit, info, blob, hub, opts.onProgress);
    await mkdir(dirname(pointer), { recursive: true });
    await rm(pointer, { force: true });
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch {
      await copyFile(blob, pointer); // no symlinks (Windows without developer mode): huggingface_hub copies too
    }
    out[f] = pointer;
  }
  return { dir, files: out, commit };
}

type Hub = { hubUrl?: string; fetch?: typeof fetch; accessToken?: string };
type Info = NonNullable<Awaited<ReturnType<typeof fileDownloadInfo>>>;

/** Streams one file into blobs/<etag>.incomplete (resuming from its length), then renames it into place. */
async function fetchBlob(repo: string, path: string, commit: string, info: Info, blobPath: string, hub: Hub, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  await mkdir(dirname(blobPath), { recursive: true });
  const partial = `${blobPath}.incomplete`;
  let have = existsSync(partial) ? (await stat(partial)).size : 0;
  if (have > info.size) { await rm(partial); have = 0; }
  const blob = await downloadFile({ ...hub, repo, path, revision: commit, downloadInfo: info });
  if (!blob) throw new Error(`${repo} commit ${commit} has no file ${path}`);
  let loaded = have;
  onProgress?.({ file: path, loaded, total: info.size });
  if (have < info.size) {
    const body = Readable.fromWeb((have > 0 ? blob.slice(have) : blob).stream() as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => { loaded += chunk.length; onProgress?.({ file: path, loaded, total: info.size }); });
    await pipeline(body, createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' }));
  }
  const got = (await stat(partial)).size;
  if (got !== info.size) {
    if (got > info.size) await rm(partial); // the server ignored the range: start over next time
    throw new Error(`download of ${repo}/${path} stopped at ${got} of ${info.size} bytes; run again to resume from ${partial}`);
  }
  await rename(partial, blobPath);
}
