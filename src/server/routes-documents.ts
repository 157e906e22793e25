// The document API: POST /v1/documents queues an absorb and answers 202 at once; the status goes
// queued → running → ready | failed (a contract: scripts poll GET /v1/documents/{id}); /events streams the
// progress as Server-Sent Events; DELETE cancels a running absorb and removes the adapter.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarFolder } from './tar.js';
import { isPartsFolder, partDirs } from '../lift/parts-folder.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, badField, notFound } from './errors.js';
import { parseRecipe, withEvaluation } from './recipe.js';
import { SseStream } from './sse.js';
import { documentObject, visible, type Caller, type ServerContext } from './context.js';
import { DOCUMENT_ID, newDocumentId, type DocumentRow } from './store.js';
import { MAX_PRIORITY } from './queue/types.js';

export interface NewDocument { text: string; title?: unknown; recipe?: unknown; priority?: unknown; evaluate?: unknown; heldout_text?: unknown }

export function registerDocumentRoutes(app: FastifyInstance, ctx: ServerContext, callerOf: (req: FastifyRequest) => Caller | null, readUpload: (req: FastifyRequest) => Promise<NewDocument>): void {
  const find = (req: FastifyRequest<{ Params: { id: string } }>): DocumentRow => {
    const id = req.params.id;
    const d = DOCUMENT_ID.test(id) ? ctx.store.getDocument(id) : null;
    // Another key's document is answered exactly like a missing one: its existence is not revealed.
    if (!d || !visible(d, callerOf(req))) throw notFound(`no document '${id}'; GET /v1/documents lists yours`, 'document_not_found');
    return d;
  };

  app.post('/v1/documents', async (req, reply) => {
    const caller = callerOf(req);
    const body = await readUpload(req);
    const text = checkText(body.text);
    let title = 'document';
    if (body.title !== undefined && body.title !== null) {
      if (typeof body.title !== 'string' || body.title.trim().length === 0 || body.title.length > 300) throw badField('title', `expected a non-empty string of at most 300 characters, got ${JSON.stringify(body.title)?.slice(0, 100)}`);
      title = body.title.trim();
    }
    const recipe = withEvaluation(parseRecipe(body.recipe), body.evaluate, body.heldout_text);
    const budget = recipe.context_budget, ctxLen = ctx.loaded.model.config.max_position_embeddings;
    if (budget !== undefined && budget > ctxLen) throw badField('recipe.context_budget', `expected at most the model's context of ${ctxLen} tokens, got ${budget}`);
    const waiting = ctx.store.listDocuments({ status: ['queued'] }).length;
    if (waiting >= ctx.limits.queue) throw new ApiError(429, `the absorb queue is full (${waiting} documents waiting, the limit is ${ctx.limits.queue}); retry later`, 'rate_limit_error', 'queue_full');
    const perOwner = ctx.limits.queuePerOwner;
    if (perOwner !== undefined) {
      const mine = ctx.store.listDocuments({ owner: caller?.keyId ?? null, status: ['queued'] }).length;
      if (mine >= perOwner) throw new ApiError(429, `you have ${mine} documents waiting to be absorbed, the limit per key is ${perOwner}; retry when one has started`, 'rate_limit_error', 'owner_queue_full');
    }
    const priority = parsePriority(body.priority);
    const bytes = Buffer.byteLength(text, 'utf8');
    const d = ctx.store.insertDocument({ id: newDocumentId(), title, text, bytes, sha256: createHash('sha256').update(text, 'utf8').digest('hex'), recipe: recipe as Record<string, unknown>, owner: caller?.keyId ?? null, priority });
    await ctx.jobs.enqueue(d.id, { priority });
    return reply.status(202).send(documentObject(ctx.store.getDocument(d.id) ?? d));
  });

  app.get('/v1/documents', async (req) => {
    const caller = callerOf(req);
    return { object: 'list', data: ctx.store.listDocuments().filter((d) => visible(d, caller)).map(documentObject) };
  });

  app.get<{ Params: { id: string } }>('/v1/documents/:id', async (req) => documentObject(find(req)));

  app.delete<{ Params: { id: string } }>('/v1/documents/:id', async (req) => {
    const d = find(req);
    await ctx.jobs.cancel(d.id);
    ctx.store.deleteDocument(d.id); // first the row: from here the document is gone for every request
    ctx.adapters.drop(d.id); // freed now, or when the generations using it end
    ctx.jobs.removeFiles(d.id);
    ctx.jobs.broadcast(d.id, { type: 'status', status: 'deleted' }); // ends open event streams
    return { id: d.id, object: 'document.deleted', deleted: true };
  });

  /** A ready document's adapter folder (404 before it is ready). */
  const adapterOf = (d: DocumentRow): string => {
    const dir = ctx.paths.adapter(d.id);
    if (d.status !== 'ready' || !existsSync(dir)) throw notFound(`document '${d.id}' has no adapter yet (status ${d.status})`, 'adapter_not_ready');
    return dir;
  };

  app.get<{ Params: { id: string } }>('/v1/documents/:id/adapter', async (req, reply) => {
    const d = find(req);
    const archive = tarFolder(adapterOf(d), `${d.id}.lift`);
    return reply.type('application/x-tar').header('content-disposition', `attachment; filename="${d.id}.lift.tar"`).send(archive);
  });

  // A document absorbed in parts has one report per part: ?part=K (1-based) is part K's; without it, a page that
  // links them.
  app.get<{ Params: { id: string }; Querystring: { part?: string } }>('/v1/documents/:id/report', async (req, reply) => {
    const d = find(req), dir = adapterOf(d);
    const html = reply.type('text/html; charset=utf-8');
    if (!isPartsFolder(dir)) return html.send(readFileSync(join(dir, 'report.html')));
    const parts = partDirs(dir), k = req.query.part;
    if (k === undefined) return html.send(partsReportIndex(d, parts.length));
    if (!/^[1-9]\d*$/.test(k) || Number(k) > parts.length) throw badField('part', `expected a part number from 1 to ${parts.length}, got ${JSON.stringify(k).slice(0, 40)}`);
    return html.send(readFileSync(join(parts[Number(k) - 1], 'report.html')));
  });

  app.get<{ Params: { id: string } }>('/v1/documents/:id/events', async (req, reply) => {
    const d = find(req);
    const sse = new SseStream(reply);
    const final = (e: { type: string; status?: unknown }): boolean => e.type === 'status' && (e.status === 'ready' || e.status === 'failed' || e.status === 'deleted');
    // Subscribe before replaying, so nothing falls between the replay and the live events.
    const live: Record<string, unknown>[] = [];
    let replayed = false, lastSeq = 0, finished = false;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const send = (e: Record<string, unknown> & { type: string; seq: number }): void => {
      if (finished) return;
      if (e.seq > 0) {
        if (e.seq <= lastSeq) return;
        lastSeq = e.seq;
      }
      sse.data({ document: d.id, ...e }, e.seq > 0 ? { id: e.seq } : {});
      if (final(e)) {
        finished = true;
        resolve();
      }
    };
    const unsubscribe = ctx.jobs.subscribe(d.id, (e) => (replayed ? send(e) : live.push(e)));
    sse.signal.addEventListener('abort', () => resolve());
    const ping = setInterval(() => sse.ping(), 15_000);
    try {
      for (const e of ctx.store.events(d.id)) send(e);
      replayed = true;
      for (const e of live.splice(0)) send(e as Record<string, unknown> & { type: string; seq: number });
      // A document that finished with no final event left (or deleted meanwhile): its state is the last word.
      const now = ctx.store.getDocument(d.id);
      if (!now) resolve();
      else if (now.status === 'ready' || now.status === 'failed') send({ type: 'status', status: now.status, seq: 0, ...(now.error ? { error: now.error } : {}) });
      await done;
    } finally {
      unsubscribe();
      clearInterval(ping);
    }
    await done;
    sse.end();
  });
}

/** The document text: a non-empty string without NUL bytes; a BOM dropped and line ends made LF, as `lift absorb` reads files. */
export function checkText(v: unknown, field = 'text'): string {
  if (typeof v !== 'string') throw badField(field, `expected the document as a string, got ${v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60)}`);
  if (v.includes('\u0000')) throw badField(field, 'the text holds NUL characters: this looks like binary data, not a text document');
  const text = v.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.trim().length === 0) throw badField(field, 'the document is empty (or only whitespace): there is nothing to absorb');
  return text;
}

/** A job priority: an integer 1 (first) … 2^21 − 1 (BullMQ's range), or nothing (after all prioritized jobs). */
export function parsePriority(v: unknown, field = 'priority'): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PRIORITY) throw badField(field, `expected an integer from 1 (first) to ${MAX_PRIORITY}, got ${JSON.stringify(v)?.slice(0, 60)}`);
  return n;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The report of a document absorbed in parts: its parts' reports, linked. */
function partsReportIndex(d: DocumentRow, n: number): string {
  const links = Array.from({ length: n }, (_, i) => `<li><a href="report?part=${i + 1}">part ${i + 1} of ${n}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(d.title)}: absorbed in ${n} parts</title></head>` +
    `<body><h1>${escapeHtml(d.title)}</h1><p>Absorbed in ${n} parts, one adapter each; a question is routed to one part, which answers over its own text.</p><ol>${links}</ol></body></html>`;
}
