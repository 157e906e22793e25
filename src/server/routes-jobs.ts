// The absorb jobs through the API (the same as `lift jobs`): GET /v1/jobs lists the caller's documents' jobs
// (an admin key or a server without keys: all), POST /v1/jobs/{id}/retry queues a failed one again (resuming
// its checkpoint), POST /v1/jobs/{id}/cancel stops a queued or running one (the document is kept, failed
// "cancelled"; DELETE /v1/documents/{id} removes it).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, notFound } from './errors.js';
import { visible, type Caller, type ServerContext } from './context.js';
import { DOCUMENT_ID, type DocumentRow } from './store.js';
import { parsePriority } from './routes-documents.js';

export function registerJobRoutes(app: FastifyInstance, ctx: ServerContext, callerOf: (req: FastifyRequest) => Caller | null): void {
  const find = (req: FastifyRequest<{ Params: { id: string } }>): DocumentRow => {
    const id = req.params.id;
    const d = DOCUMENT_ID.test(id) ? ctx.store.getDocument(id) : null;
    if (!d || !visible(d, callerOf(req))) throw notFound(`no job '${id}'; GET /v1/jobs lists yours`, 'job_not_found');
    return d;
  };

  app.get('/v1/jobs', async (req) => {
    const caller = callerOf(req);
    const owners = new Map(ctx.store.listDocuments().map((d) => [d.id, d]));
    const jobs = (await ctx.jobs.list()).filter((j) => {
      const d = owners.get(j.id);
      return d !== undefined && visible(d, caller);
    });
    return { object: 'list', engine: ctx.jobs.engine, data: jobs.map((j) => ({ object: 'job', ...j, owner: undefined })) };
  });

  app.post<{ Params: { id: string }; Body: { priority?: unknown } | null }>('/v1/jobs/:id/retry', async (req) => {
    const d = find(req);
    if (d.status !== 'failed') throw new ApiError(409, `job '${d.id}' is ${d.status}; only a failed job can be retried`, 'invalid_request_error', 'job_not_failed');
    await ctx.jobs.retry(d.id, { priority: parsePriority(req.body?.priority) });
    return { id: d.id, object: 'job', status: ctx.store.getDocument(d.id)?.status ?? 'queued' };
  });

  app.post<{ Params: { id: string } }>('/v1/jobs/:id/cancel', async (req) => {
    const d = find(req);
    if (d.status !== 'queued' && d.status !== 'running') throw new ApiError(409, `job '${d.id}' is ${d.status}; only a queued or running job can be cancelled`, 'invalid_request_error', 'job_not_running');
    await ctx.jobs.cancel(d.id, { reason: 'cancelled' });
    return { id: d.id, object: 'job', status: ctx.store.getDocument(d.id)?.status ?? 'failed' };
  });
}
