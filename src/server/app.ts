// The server: Fastify (maintained, fast, typed; per-route body limits and content-type parsing built in) with
// OpenAI's routes, the document API and OpenAI-shaped errors for everything, including what Fastify rejects
// itself (malformed JSON, oversized bodies, unknown routes).
import type { IncomingMessage } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { LoadedModel } from '../model/load.js';
import { ApiError, toApiError } from './errors.js';
import { Store } from './store.js';
import { dataPaths } from './paths.js';
import { JobRunner } from './jobs.js';
import { RedisQueue } from './queue/redis.js';
import type { AbsorbQueue } from './queue/types.js';
import { contentHash } from '../adapters/files.js';
import { AdapterCache } from './adapters.js';
import { baseModelId, type Caller, type Limits, type ServerContext } from './context.js';
import { registerOpenAIRoutes } from './routes-openai.js';
import { registerDocumentRoutes } from './routes-documents.js';
import { registerJobRoutes } from './routes-jobs.js';
import { readUpload } from './upload.js';
import { authenticate } from './auth.js';

export interface ServerOptions {
  loaded: LoadedModel;
  /** The --model spec (job processes load the same model from it). */
  modelSpec: string;
  tokenizer?: string;
  data: string;
  trainJobs?: number;
  /** Bytes of adapter weights kept loaded (default 256 MiB). */
  adapterCacheBytes?: number;
  limits?: Partial<Limits>;
  /** Environment for absorb job processes. */
  jobEnv?: NodeJS.ProcessEnv;
  /** A Redis URL: absorb jobs go to BullMQ and `lift worker` processes run them (queue/redis.ts); unset: embedded. */
  queue?: string;
  log?: (line: string) => void;
}

/** Completion requests are small; only documents may be large. */
const COMPLETION_BODY = 1 << 20;

export interface LiftServer {
  app: FastifyInstance;
  ctx: ServerContext;
  close(): Promise<void>;
}

export async function createServer(o: ServerOptions): Promise<LiftServer> {
  const paths = dataPaths(o.data);
  const store = new Store(paths.db);
  const limits: Limits = { bodyBytes: 32 << 20, generations: 64, queue: 100, ...o.limits };
  // Job processes run in --data: a relative model path is made absolute first (a Hub id stays as it is).
  const abs = (p: string | undefined): string | undefined => (p !== undefined && existsSync(p) ? resolve(p) : p);
  let jobs: AbsorbQueue;
  try {
    jobs = o.queue
      ? await RedisQueue.open({ url: o.queue, store, paths, model: { hash: contentHash(o.loaded.model), name: baseModelId(o.modelSpec) }, log: o.log })
      : new JobRunner({ store, paths, model: abs(o.modelSpec)!, tokenizer: abs(o.tokenizer), concurrency: o.trainJobs ?? 1, env: o.jobEnv, log: o.log });
  } catch (e) {
    store.close();
    throw e;
  }
  const baseId = baseModelId(o.modelSpec);
  const ctx: ServerContext = {
    loaded: o.loaded, baseId, baseAliases: new Set([baseId, o.modelSpec, o.loaded.id]), store, jobs,
    adapters: new AdapterCache(o.loaded, o.adapterCacheBytes ?? 256 << 20), paths, limits, inflight: { n: 0 }, stats: { completed: 0, aborted: 0 }, startedAt: Date.now(),
  };

  const app = Fastify({ logger: false, bodyLimit: Math.max(limits.bodyBytes, COMPLETION_BODY), forceCloseConnections: true });
  // JSON only (multipart for uploads): a text/plain body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  const callers = new WeakMap<FastifyRequest, Caller | null>();
  app.addHook('onRequest', async (req) => {
    // The web page itself holds no data (it asks for a key when the server has keys); everything else is gated.
    if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) return;
    callers.set(req, authenticate(store, req));
  });
  const callerOf = (req: FastifyRequest): Caller | null => callers.get(req) ?? null;
  // Completions get a 1 MiB body limit: a larger one is a mistake, answered 413 before it is parsed.
  app.addHook('onRoute', (route) => {
    if (route.url.endsWith('/completions')) route.bodyLimit = Math.min(COMPLETION_BODY, limits.bodyBytes);
  });
  app.setErrorHandler(async (err, req, reply) => {
    const a = toApiError(err);
    if (a.status >= 500) o.log?.(`error: ${(err as Error).stack ?? String(err)}`);
    // A body refused before it was all read (a 413 on its Content-Length, an upload over the limit): read the rest
    // and discard it before answering, so that a client still sending reads the error instead of a broken pipe
    // (undici's fetch on Node 24 failed with EPIPE); then close the connection. A body far beyond the limit, or
    // one that stalls, is not waited for.
    if (!req.raw.complete) {
      await drain(req.raw, Math.max(4 * limits.bodyBytes, 64 << 20), 10_000);
      void reply.header('connection', 'close');
    }
    return reply.status(a.status).send(a.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const a = new ApiError(404, `no route ${req.method} ${req.url.split('?')[0]}; see GET /v1/models, POST /v1/chat/completions, POST /v1/completions, /v1/documents`, 'invalid_request_error', 'unknown_url');
    void reply.status(404).send(a.body());
  });

  // Uploads: one file, at most the body limit; other form fields are small.
  await app.register(multipart, { limits: { fileSize: limits.bodyBytes, files: 1, fields: 4, fieldSize: 1 << 20, parts: 5 } });
  registerOpenAIRoutes(app, ctx, callerOf);
  registerDocumentRoutes(app, ctx, callerOf, readUpload);
  registerJobRoutes(app, ctx, callerOf);
  const page = readFileSync(pageFile());
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
  app.get('/health', async () => ({ status: 'ok', model: baseId, generations: ctx.inflight.n, ...ctx.stats, queued: store.listDocuments({ status: ['queued'] }).length, queue: jobs.engine, adapters: ctx.adapters.size }));

  await jobs.start();
  let closed = false;
  return {
    app,
    ctx,
    async close() {
      if (closed) return;
      closed = true;
      await jobs.stop(); // running documents stay "running": the next start resumes them
      await app.close();
      ctx.adapters.clear();
      store.close();
    },
  };
}

/** Reads and discards what is left of a request body, up to `max` bytes or `ms` milliseconds. */
function drain(body: IncomingMessage, max: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      body.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > max) done();
    };
    const timer = setTimeout(done, ms);
    body.on('data', onData).once('end', done).once('error', done).once('close', done);
    body.resume();
  });
}

/** The web page: beside this module under tsx; in the source tree when running the build (tsc does not copy .html). */
function pageFile(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const p of [join(here, 'page.html'), join(here, '..', '..', '..', 'src', 'server', 'page.html')]) if (existsSync(p)) return p;
  throw new Error(`the web page (src/server/page.html) is missing beside ${here}`);
}
