// Loaded adapters, shared by every request for the same document: a bounded cache, least recently used first
// out, sized in bytes of adapter weights (the base model is loaded once; a LoRA of rank r costs a few MB, so
// one server serves many documents). An adapter in use by a generation is never freed under it: entries are
// reference-counted, and one evicted or deleted while in use is freed when its last user lets go.
import type { LoadedModel } from '../model/load.js';
import { loadAdapter, type Adapter } from '../adapters/files.js';
import { AdapterRouter, type RoutablePart } from '../adapters/route.js';
import { readAbsorbed, type AbsorbedDocument } from '../lift/folder.js';
import { isPartsFolder, partDirs } from '../lift/parts-folder.js';

export interface LoadedDocument {
  /** The document's adapter; a document absorbed in parts: its parts behind a router that answers over each part's own text. */
  adapter: Adapter | AdapterRouter;
  doc: AbsorbedDocument;
  bytes: number;
}

interface Entry extends LoadedDocument {
  id: string;
  users: number;
  dropped: boolean;
  /** Aborted when the document is deleted: its generations stop and say so. */
  gone: AbortController;
}

export class AdapterCache {
  private readonly entries = new Map<string, Entry>(); // insertion order = least recently used first
  private bytes = 0;

  constructor(private readonly loaded: LoadedModel, private readonly maxBytes: number) {}

  /** The document's adapter and text, loaded from `dir` if not cached; call release() when done with it. */
  acquire(id: string, dir: string): { value: LoadedDocument; release: () => void; gone: AbortSignal } {
    let e = this.entries.get(id);
    if (e) this.entries.delete(id);
    else {
      const doc = readAbsorbed(dir);
      const { adapter, bytes } = this.load(dir);
      e = { id, adapter, doc, bytes, users: 0, dropped: false, gone: new AbortController() };
      this.bytes += bytes;
    }
    this.entries.set(id, e); // most recently used
    e.users++;
    this.evict();
    const entry = e;
    let released = false;
    return {
      value: entry,
      gone: entry.gone.signal,
      release: () => {
        if (released) return;
        released = true;
        entry.users--;
        if (entry.dropped && entry.users === 0) entry.adapter.dispose();
      },
    };
  }

  /** A folder's adapter and its weights' bytes: one adapter, or a parts folder's parts routed (as `lift ask` on it). */
  private load(dir: string): { adapter: Adapter | AdapterRouter; bytes: number } {
    const base = { model: this.loaded.model, id: this.loaded.id, revision: this.loaded.revision };
    const inParts = isPartsFolder(dir), dirs = inParts ? partDirs(dir) : [dir];
    const parts: Adapter[] = [];
    try {
      for (const d of dirs) parts.push(loadAdapter(d, base).adapter);
    } catch (e) {
      for (const a of parts) a.dispose();
      throw e;
    }
    const bytes = parts.reduce((a, p) => a + p.parameters().reduce((b, t) => b + 4 * t.size, 0), 0);
    if (!inParts) return { adapter: parts[0], bytes };
    return { adapter: new AdapterRouter(this.loaded.model, parts, dirs, dirs.map((d) => readAbsorbed(d).text)), bytes };
  }

  /** Forgets a document (deleted): its generations are stopped, and it is freed when the last one lets go. */
  drop(id: string, deleted = true): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (deleted) e.gone.abort();
    this.entries.delete(id);
    this.bytes -= e.bytes;
    e.dropped = true;
    if (e.users === 0) e.adapter.dispose();
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private evict(): void {
    for (const [id] of this.entries) {
      if (this.bytes <= this.maxBytes || this.entries.size <= 1) break;
      this.drop(id, false); // evicted, not deleted: generations using it finish normally
    }
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.drop(id, false);
  }
}
