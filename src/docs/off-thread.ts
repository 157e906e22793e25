// extractDocument in a worker thread, for the server: pdf.js, Readability and mammoth parse on the thread
// that calls them, and a large upload parsed on the request thread would stall every other request (and
// token streams) for its duration. One short-lived worker per upload (uploads are rare next to requests);
// a time limit ends a pathological file's parse.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FormatError } from '../io/errors.js';
import type { Extracted } from './index.js';

// The worker's file beside this one when built (.js). Under tsx (.ts sources) a worker thread cannot load
// TypeScript (tsx's hooks do not reach worker threads on Node 20), so there the parse runs on this thread.
const BUILT = extname(fileURLToPath(import.meta.url)) === '.js';
const WORKER = fileURLToPath(new URL('./extract-worker.js', import.meta.url));

export async function extractOffThread(bytes: Uint8Array, name: string, timeoutMs = 120_000): Promise<Extracted> {
  if (!BUILT) return (await import('./index.js')).extractDocument(bytes, name);
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { bytes, name } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(FormatError.withMessage(name, 'document', `${name}: reading the document took over ${Math.round(timeoutMs / 1000)} s: expected a document that can be read in reasonable time`));
    }, timeoutMs);
    w.once('message', (m: { ok: true } & Extracted | { ok: false; formatError: boolean; field: string; message: string }) => {
      clearTimeout(timer);
      void w.terminate();
      if (m.ok) resolve({ text: m.text, format: m.format, ...(m.note ? { note: m.note } : {}) });
      else reject(m.formatError ? FormatError.withMessage(name, m.field, m.message) : new Error(m.message));
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
