// A request's `model` when it is not the base model: one absorbed document ("doc_ab12…"), or several joined by
// "+" ("doc_ab12…+doc_cd34…") answered with all their documents in context through the one adapter under which
// the question is likeliest (src/adapters/route.ts) — what `lift ask A Q --adapter A,B` does. (Summing LoRA
// deltas, `--combine sum` in the CLI, makes the adapters interfere: docs/recall.md; the server routes.)
// A document absorbed in parts (a parts folder) is its parts behind a router that answers over the chosen
// part's own text (completion.ts, as src/lift/ask.ts); combined with others, its parts join the others'.
// The adapter cache holds the parts, never a combination: each part is acquired (loaded once, shared with
// every request naming it) and released when the answer ends, so "a+b" and "b+a" and "a" share memory.
import { AdapterRouter, type RoutablePart } from '../adapters/route.js';
import type { AdapterHooks } from '../model/llama.js';
import { joinAbsorbed, type AbsorbedDocument } from '../lift/folder.js';
import { ApiError, notFound } from './errors.js';
import { visible, type Caller, type ServerContext } from './context.js';
import { DOCUMENT_ID, type DocumentRow } from './store.js';

/** Most documents one `model` may combine (each adds a scoring pass over the prompt to every request). */
export const MAX_COMBINED = 8;

export interface DocumentModel {
  doc: AbsorbedDocument;
  adapter: AdapterHooks;
  /** Aborted when any part is deleted while answering. */
  gone: AbortSignal;
  /** Lets go of every part (idempotent). */
  release: () => void;
}

/**
 * Resolves `model` (one document id, or ids joined by "+") for `caller`, holding each part's adapter in the
 * cache until release(). Errors, in this order so nothing about another key's documents leaks:
 *   404 model_not_found — a part that is not a document id, does not exist, or is not the caller's (the
 *       message names no part: a missing document and another key's read the same);
 *   400 invalid_value — a part listed twice, or more than MAX_COMBINED parts;
 *   409 model_not_ready — a part still being absorbed (or failed).
 * Any adapter kinds may be combined: a router applies one per request.
 */
export function acquireDocumentModel(ctx: ServerContext, model: string, caller: Caller | null): DocumentModel {
  const ids = model.split('+');
  const rows = ids.map((id) => (DOCUMENT_ID.test(id) ? ctx.store.getDocument(id) : null));
  if (rows.some((d) => !d || !visible(d, caller))) {
    if (ids.length === 1) throw modelNotFound(model);
    throw new ApiError(404, `The model '${model}' does not exist or you do not have access to it: one or more of its ${ids.length} "+"-joined documents is unknown to you; GET /v1/models lists the base model and the absorbed documents`, 'not_found_error', 'model_not_found', 'model');
  }
  const docs = rows as DocumentRow[];
  if (new Set(ids).size !== ids.length) throw new ApiError(400, `model: '${model}' lists a document more than once (its adapter would count twice); list each once`, 'invalid_request_error', 'invalid_value', 'model');
  if (ids.length > MAX_COMBINED) throw new ApiError(400, `model: '${model}' combines ${ids.length} documents; at most ${MAX_COMBINED} may be combined`, 'invalid_request_error', 'invalid_value', 'model');
  for (const d of docs)
    if (d.status !== 'ready')
      throw new ApiError(409, `${ids.length > 1 ? `the model '${model}' includes '${d.id}', ` : `the model '${d.id}' is `}a document still being absorbed (status ${d.status}${d.status === 'running' ? `, ${Math.round(d.progress * 100)}%` : ''}${d.error ? `: ${d.error}` : ''}); GET /v1/documents/${d.id} shows its progress`, 'invalid_request_error', 'model_not_ready', 'model');
  const held: ReturnType<ServerContext['adapters']['acquire']>[] = [];
  const release = (): void => { for (const h of held) h.release(); };
  try {
    for (const d of docs) held.push(ctx.adapters.acquire(d.id, ctx.paths.adapter(d.id)));
    if (held.length === 1) return { doc: held[0].value.doc, adapter: held[0].value.adapter, gone: held[0].gone, release };
    // The parts stay the cache's: the router is never disposed (AdapterRouter.dispose would free them). A document
    // absorbed in parts adds its parts, and the documents share their joined context (as `lift ask --adapter a,b`).
    const parts = held.flatMap((h, i) => {
      const a = h.value.adapter;
      return a instanceof AdapterRouter ? a.parts.map((p, j) => ({ p, name: `${ids[i]} ${a.names[j]}` })) : [{ p: a as RoutablePart, name: ids[i] }];
    });
    const adapter: AdapterHooks = new AdapterRouter(ctx.loaded.model, parts.map((x) => x.p), parts.map((x) => x.name));
    return { doc: joinAbsorbed(held.map((h) => h.value.doc)), adapter, gone: AbortSignal.any(held.map((h) => h.gone)), release };
  } catch (e) {
    release();
    throw e;
  }
}

export const modelNotFound = (id: string): ApiError => {
  const e = notFound(`The model '${id}' does not exist or you do not have access to it; GET /v1/models lists the base model and the absorbed documents`, 'model_not_found');
  return new ApiError(e.status, e.message, e.type, e.code, 'model');
};
