// OpenAI's routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions. The `model` field picks
// the base model or an absorbed document (its id; several ids joined by "+" are combined: document-model.ts);
// responses and stream chunks have OpenAI's fields, so the official clients and chat front ends work unchanged.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { parseChat, parseCompletion, type SamplingRequest } from './request.js';
import { basePrompt, documentPrompt, runCompletion, type CompletionResult, type Prepared } from './completion.js';
import { SseStream } from './sse.js';
import { visible, type Caller, type ServerContext } from './context.js';
import { DOCUMENT_ID } from './store.js';
import { acquireDocumentModel, modelNotFound } from './document-model.js';

type Kind = 'chat' | 'text';

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServerContext, callerOf: (req: FastifyRequest) => Caller | null): void {
  app.get('/v1/models', async (req) => {
    const caller = callerOf(req);
    const created = Math.floor(ctx.startedAt / 1000);
    const docs = ctx.store.listDocuments({ status: ['ready'] }).filter((d) => visible(d, caller));
    return {
      object: 'list',
      data: [
        { id: ctx.baseId, object: 'model', created, owned_by: 'lift', lift: { kind: 'base' } },
        ...docs.map((d) => ({ id: d.id, object: 'model', created: Math.floor(d.created_at / 1000), owned_by: 'lift', lift: { kind: 'document', title: d.title, base_model: ctx.baseId } })),
      ],
    };
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const caller = callerOf(req);
    const id = req.params.id;
    if (ctx.baseAliases.has(id)) return { id: ctx.baseId, object: 'model', created: Math.floor(ctx.startedAt / 1000), owned_by: 'lift' };
    // A combination exists when a completion could use it (same checks and errors; the parts stay cached).
    if (id.includes('+')) {
      acquireDocumentModel(ctx, id, caller).release();
      return { id, object: 'model', created: Math.floor(ctx.startedAt / 1000), owned_by: 'lift' };
    }
    const d = DOCUMENT_ID.test(id) ? ctx.store.getDocument(id) : null;
    if (!d || d.status !== 'ready' || !visible(d, caller)) throw modelNotFound(id);
    return { id: d.id, object: 'model', created: Math.floor(d.created_at / 1000), owned_by: 'lift' };
  });

  app.post('/v1/chat/completions', async (req, reply) => {
    const r = parseChat(req.body);
    const question = [...r.messages].reverse().find((m) => m.role === 'user')!.content;
    return serve(req, reply, 'chat', r, (docPrepared) => docPrepared ? docPrepared(question, 'messages') : basePrompt(ctx.loaded, r.messages));
  });

  app.post('/v1/completions', async (req, reply) => {
    const r = parseCompletion(req.body);
    return serve(req, reply, 'text', r, (docPrepared) => docPrepared ? docPrepared(r.prompt, 'prompt') : basePrompt(ctx.loaded, r.prompt), r.echo ? r.prompt : '');
  });

  type DocPrompt = ((question: string, field: string) => Prepared) | null;

  async function serve(req: FastifyRequest, reply: FastifyReply, kind: Kind, r: SamplingRequest, prepare: (doc: DocPrompt) => Prepared, echo = ''): Promise<unknown> {
    const caller = callerOf(req);
    let release = (): void => {};
    let gone: AbortSignal | null = null;
    let prepared: Prepared;
    if (ctx.baseAliases.has(r.model)) prepared = prepare(null);
    else {
      // One document, or several joined by "+" (routed per question, all their documents in context).
      const held = acquireDocumentModel(ctx, r.model, caller);
      release = held.release;
      gone = held.gone;
      try {
        prepared = prepare((q, field) => documentPrompt(ctx.loaded, held.doc, held.adapter, q, field));
      } catch (e) {
        release();
        throw e;
      }
    }
    if (ctx.inflight.n >= ctx.limits.generations) {
      release();
      throw new ApiError(429, `too many generations in progress (${ctx.inflight.n}, the limit is ${ctx.limits.generations}); retry shortly`, 'rate_limit_error', 'rate_limit_exceeded');
    }
    ctx.inflight.n++;
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    try {
      if (r.stream) await streamed(reply, kind, id, created, r, prepared, echo, gone);
      else return await whole(reply, kind, id, created, r, prepared, echo, gone);
    } finally {
      ctx.inflight.n--;
      release();
    }
  }

  const count = (res: CompletionResult): void => void (res.aborted ? ctx.stats.aborted++ : ctx.stats.completed++);

  async function whole(reply: FastifyReply, kind: Kind, id: string, created: number, r: SamplingRequest, p: Prepared, echo: string, gone: AbortSignal | null): Promise<unknown> {
    // A client that hangs up before the answer is complete: stop generating for it.
    const ac = new AbortController();
    const onClose = (): void => { if (!reply.raw.writableEnded) ac.abort(); };
    reply.raw.on('close', onClose);
    let res: CompletionResult;
    try {
      res = await runCompletion(ctx.loaded, p, r, gone ? AbortSignal.any([ac.signal, gone]) : ac.signal, () => {});
      if (gone?.aborted) throw modelDeleted(r.model);
      count(res);
    } finally {
      reply.raw.off('close', onClose);
    }
    const usage = usageOf(res);
    if (kind === 'chat')
      return { id, object: 'chat.completion', created, model: r.model, system_fingerprint: null, choices: [{ index: 0, message: { role: 'assistant', content: res.text, refusal: null }, logprobs: null, finish_reason: res.finishReason }], usage };
    return { id, object: 'text_completion', created, model: r.model, system_fingerprint: null, choices: [{ index: 0, text: echo + res.text, logprobs: null, finish_reason: res.finishReason }], usage };
  }

  async function streamed(reply: FastifyReply, kind: Kind, id: string, created: number, r: SamplingRequest, p: Prepared, echo: string, gone: AbortSignal | null): Promise<void> {
    const sse = new SseStream(reply);
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const extra = r.includeUsage ? { usage: null } : {};
    const chunk = (choice: Record<string, unknown>): Record<string, unknown> => ({ id, object, created, model: r.model, system_fingerprint: null, choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }], ...extra });
    const piece = (text: string): Record<string, unknown> => (kind === 'chat' ? chunk({ delta: { content: text } }) : chunk({ text }));
    try {
      if (kind === 'chat') sse.data(chunk({ delta: { role: 'assistant', content: '' } }));
      else if (echo) sse.data(piece(echo));
      const res = await runCompletion(ctx.loaded, p, r, gone ? AbortSignal.any([sse.signal, gone]) : sse.signal, (t) => sse.data(piece(t)));
      if (gone?.aborted) throw modelDeleted(r.model);
      count(res);
      if (sse.closed) return; // the client left: nothing more to send
      sse.data(kind === 'chat' ? chunk({ delta: {}, finish_reason: res.finishReason }) : chunk({ text: '', finish_reason: res.finishReason }));
      if (r.includeUsage) sse.data({ id, object, created, model: r.model, system_fingerprint: null, choices: [], usage: usageOf(res) });
      sse.data('[DONE]');
    } catch (e) {
      // Headers are sent: the error goes in the stream, as OpenAI does ({"error": …} as a data line).
      const a = e instanceof ApiError ? e : new ApiError(500, `generation failed: ${(e as Error).message}`, 'server_error', 'internal_error');
      sse.data(a.body());
    } finally {
      sse.end();
    }
  }
}

const usageOf = (r: CompletionResult) => ({ prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens });

/** The document was deleted while it was answering: the answer so far is incomplete, and says so. */
const modelDeleted = (id: string): ApiError => new ApiError(404, `the model '${id}' (a document) was deleted while answering; the answer is incomplete`, 'not_found_error', 'model_deleted', 'model');

