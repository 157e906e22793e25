// The worker thread of extractOffThread (off-thread.ts): reads one document and posts its text, or the
// FormatError's message, back. A thread of its own so a large PDF does not stall the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { FormatError } from '../io/errors.js';
import { extractDocument } from './index.js';

const { bytes, name } = workerData as { bytes: Uint8Array; name: string };
try {
  const r = await extractDocument(bytes, name);
  parentPort!.postMessage({ ok: true, ...r });
} catch (e) {
  parentPort!.postMessage({ ok: false, formatError: e instanceof FormatError, field: e instanceof FormatError ? e.field : '', message: (e as Error)?.message ?? String(e) });
}
