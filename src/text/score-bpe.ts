// The merge step shared by llama2.c's run.c `encode` and SentencePiece-style GGUF vocabularies:
// start from one token per character (or byte-fallback bytes) and repeatedly merge the adjacent pair whose
// concatenated piece is in the vocabulary with the highest score, the leftmost pair on ties.
//
// run.c rescans every pair after every merge (quadratic in the text length). LIFT feeds whole documents
// through the tokenizer, so this does the same greedy choice with a heap ordered by (score desc, position
// asc) and lazily drops stale pairs: each step still takes the globally best, leftmost pair, so the result
// is identical to run.c's, in O(n log n).

/** Pairs scoring at or below this never merge: run.c starts its search at best_score = -1e10. */
const MIN_SCORE = -1e10;

export interface ScoreVocab {
  /** Piece of each id, in the same string convention as the keys of `lookup`. */
  pieces: readonly string[];
  /** Piece -> id for the pieces a merge may produce (the first id when a piece repeats). */
  lookup: ReadonlyMap<string, number>;
  scores: Float32Array;
}

interface Cand { score: number; left: number; right: number; id: number; vl: number; vr: number }

/** Binary max-heap on (score, then smaller left index). */
class PairHeap {
  private a: Cand[] = [];
  get size(): number { return this.a.length; }
  private before(x: Cand, y: Cand): boolean {
    return x.score > y.score || (x.score === y.score && x.left < y.left);
  }
  push(c: Cand): void {
    const a = this.a;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Cand {
    const a = this.a;
    const top = a[0];
    const last = a.pop() as Cand;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l], a[m])) m = l;
        if (r < a.length && this.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Merges `ids` (one per character or fallback byte) by vocabulary score; returns the merged ids. */
export function mergeByScore(ids: number[], vocab: ScoreVocab): number[] {
  const n = ids.length;
  if (n < 2) return ids.slice();
  const tok = Int32Array.from(ids);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const ver = new Uint32Array(n); // bumped whenever a symbol changes or dies: invalidates its queued pairs
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
  const heap = new PairHeap();
  const consider = (left: number): void => {
    const right = next[left];
    if (right < 0) return;
    const id = vocab.lookup.get(vocab.pieces[tok[left]] + vocab.pieces[tok[right]]);
    if (id === undefined) return;
    const score = vocab.scores[id];
    if (!(score > MIN_SCORE)) return;
    heap.push({ score, left, right, id, vl: ver[left], vr: ver[right] });
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  while (heap.size > 0) {
    const c = heap.pop();
    if (!alive[c.left] || !alive[c.right] || ver[c.left] !== c.vl || ver[c.right] !== c.vr || next[c.left] !== c.right) continue;
    tok[c.left] = c.id;
    ver[c.left]++;
    alive[c.right] = 0;
    ver[c.right]++;
    const after = next[c.right];
    next[c.left] = after;
    if (after >= 0) prev[after] = c.left;
    if (prev[c.left] >= 0) consider(prev[c.left]);
    consider(c.left);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(tok[i]);
  return out;
}

/** run.c's quadratic loop, kept as the reference the tests compare mergeByScore against. */
export function mergeByScoreReference(ids: number[], vocab: ScoreVocab): number[] {
  const t = ids.slice();
  for (;;) {
    let best = MIN_SCORE, bestId = -1, bestIdx = -1;
    for (let i = 0; i + 1 < t.length; i++) {
      const id = vocab.lookup.get(vocab.pieces[t[i]] + vocab.pieces[t[i + 1]]);
      if (id !== undefined && vocab.scores[id] > best) { best = vocab.scores[id]; bestId = id; bestIdx = i; }
    }
    if (bestIdx < 0) return t;
    t.splice(bestIdx, 2, bestId);
  }
}
