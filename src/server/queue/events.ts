// A document's events, whichever engine runs its absorb: events from the job (child-process IPC in the
// embedded engine, BullMQ progress events in the Redis one) update the database (progress, status) and
// reach the SSE subscribers. Progress ticks and phases are broadcast only; everything else is recorded.
import type { Store, DocumentEvent } from '../store.js';
import type { Listener } from './types.js';

export class DocumentEvents {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly store: Store, private readonly log?: (line: string) => void) {}

  subscribe(id: string, f: Listener): () => void {
    let s = this.listeners.get(id);
    if (!s) this.listeners.set(id, (s = new Set()));
    s.add(f);
    return () => {
      s.delete(f);
      if (s.size === 0) this.listeners.delete(id);
    };
  }

  /** Records an event (progress ticks are only broadcast, not stored) and tells the subscribers. */
  emit(id: string, e: Record<string, unknown>): void {
    let ev: DocumentEvent;
    if (e.type === 'progress' || e.type === 'phase') ev = { ...e, type: String(e.type), seq: 0, at: Date.now() };
    else {
      try {
        ev = this.store.addEvent(id, e);
      } catch {
        return; // the document was deleted meanwhile
      }
    }
    for (const f of this.listeners.get(id) ?? []) f(ev);
  }

  broadcast(id: string, e: Record<string, unknown>): void {
    const ev = { ...e, type: String(e.type), seq: 0, at: Date.now() };
    for (const f of this.listeners.get(id) ?? []) f(ev);
  }

  /** One event of a running absorb (absorb-child.ts `event()` shapes): moves the document's progress fraction. */
  jobEvent(id: string, e: Record<string, unknown>): void {
    const { store } = this;
    // A document absorbed in parts sends each part's events with `part` (0-based) and `parts`: the fraction is
    // the parts done plus this part's share.
    const n = typeof e.parts === 'number' && e.parts > 0 ? e.parts : 1, at = typeof e.part === 'number' && n > 1 ? e.part : 0;
    const overall = (f: number): number => (at + f) / n;
    if (e.type === 'progress' && typeof e.samples === 'number' && typeof e.total_samples === 'number' && e.total_samples > 0) {
      const progress = overall(e.samples / e.total_samples);
      try { store.update(id, { progress }); } catch { /* deleted */ }
      this.emit(id, { ...e, progress });
      return;
    }
    // Steps also move the fraction: with small batches the trainer may send no progress ticks between them.
    if (e.type === 'step' && typeof e.step === 'number' && typeof e.total_steps === 'number' && e.total_steps > 0) {
      try { store.update(id, { progress: Math.max(store.getDocument(id)?.progress ?? 0, overall(e.step / e.total_steps)) }); } catch { /* deleted */ }
    }
    this.emit(id, e);
  }

  /** The job started (or restarted) somewhere. */
  running(id: string, extra: Record<string, unknown> = {}): void {
    const d = this.store.getDocument(id);
    if (!d || d.status === 'ready') return;
    this.store.update(id, { status: 'running', error: null });
    this.emit(id, { type: 'status', status: 'running', ...extra });
  }

  queued(id: string, extra: Record<string, unknown> = {}): void {
    const d = this.store.getDocument(id);
    if (!d || d.status === 'ready') return;
    if (d.status !== 'queued') this.store.update(id, { status: 'queued' });
    this.emit(id, { type: 'status', status: 'queued', ...extra });
  }

  /** Idempotent: a second report of the same outcome (a replayed BullMQ event) changes nothing. */
  ready(id: string, metrics: Record<string, unknown>): void {
    const d = this.store.getDocument(id);
    if (!d || d.status === 'ready') return;
    this.store.update(id, { status: 'ready', progress: 1, metrics, error: null });
    this.emit(id, { type: 'status', status: 'ready', metrics });
    this.log?.(`document ${id}: ready`);
  }

  failed(id: string, message: string): void {
    const d = this.store.getDocument(id);
    if (!d || d.status === 'ready' || (d.status === 'failed' && d.error === message)) return;
    this.store.update(id, { status: 'failed', error: message });
    this.emit(id, { type: 'status', status: 'failed', error: message });
    this.log?.(`document ${id}: failed: ${message}`);
  }
}
