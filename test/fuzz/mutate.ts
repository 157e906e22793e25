// fast-check arbitraries that turn a valid input into a hostile one. Byte mutations (bit flips, interesting
// integers, truncation, splices, insertions, deletions) are biased towards the first bytes, where binary headers
// make their decisions; JSON mutations replace, delete or retype one field anywhere in a document (or the
// whole document) with the values users and broken tools produce: null, [], {}, numbers, strings, long text.
import fc from 'fast-check';

export type ByteOp =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'int'; pos: number; width: number; value: number; high: boolean }
  | { op: 'truncate'; pos: number }
  | { op: 'splice'; from: number; pos: number; n: number }
  | { op: 'insert'; pos: number; bytes: Uint8Array }
  | { op: 'delete'; pos: number; n: number };

const INTERESTING = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 31, 32, 33, 1 << 20];

/** A position: 3 in 4 land in the first `headBytes` bytes (scaled to the input's length when applied). */
const position = (headBytes: number) => fc.oneof({ weight: 3, arbitrary: fc.nat(headBytes - 1) }, { weight: 1, arbitrary: fc.nat(1 << 30) });

export function byteOps(headBytes = 400): fc.Arbitrary<ByteOp[]> {
  const pos = position(headBytes);
  const op: fc.Arbitrary<ByteOp> = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), pos, bit: fc.nat(7) }),
    fc.record({ op: fc.constant('int' as const), pos, width: fc.constantFrom(1, 2, 4, 8), value: fc.constantFrom(...INTERESTING), high: fc.boolean() }),
    fc.record({ op: fc.constant('truncate' as const), pos }),
    fc.record({ op: fc.constant('splice' as const), from: fc.nat(1 << 30), pos, n: fc.integer({ min: 1, max: 32 }) }),
    fc.record({ op: fc.constant('insert' as const), pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ op: fc.constant('delete' as const), pos, n: fc.integer({ min: 1, max: 16 }) }),
  );
  return fc.array(op, { minLength: 1, maxLength: 4 });
}

/** Applies the operations in order (positions wrap around the current length). */
export function applyByteOps(base: Uint8Array, ops: ByteOp[]): Uint8Array {
  let b = Uint8Array.from(base);
  for (const o of ops) {
    if (b.length === 0) break;
    const at = o.pos % b.length;
    switch (o.op) {
      case 'flip': b[at] ^= 1 << o.bit; break;
      case 'int':
        for (let j = 0; j < o.width && at + j < b.length; j++) b[at + j] = j < 4 ? (o.value >>> (8 * j)) & 0xff : o.high ? 0xff : 0;
        break;
      case 'truncate': b = b.slice(0, at); break;
      case 'splice': {
        const chunk = b.slice(o.from % b.length, (o.from % b.length) + o.n);
        b.set(chunk.subarray(0, Math.max(0, b.length - at)), at);
        break;
      }
      case 'insert': {
        const out = new Uint8Array(b.length + o.bytes.length);
        out.set(b.subarray(0, at));
        out.set(o.bytes, at);
        out.set(b.subarray(at), at + o.bytes.length);
        b = out;
        break;
      }
      case 'delete': {
        const out = new Uint8Array(Math.max(at, b.length - o.n));
        out.set(b.subarray(0, at));
        out.set(b.subarray(at + o.n), at);
        b = out;
        break;
      }
    }
  }
  return b;
}

/** Mutated bytes of `base`, or (1 in 20) random bytes of any length. */
export function mutatedBytes(base: Uint8Array, headBytes = 400): fc.Arbitrary<{ bytes: Uint8Array; ops: string }> {
  return fc.oneof(
    { weight: 19, arbitrary: byteOps(headBytes).map((ops) => ({ bytes: applyByteOps(base, ops), ops: JSON.stringify(ops) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ bytes, ops: `random ${bytes.length} bytes` })) },
  );
}

// ---- JSON --------------------------------------------------------------------------------------------

/** Values that stand in for a field: wrong types, edge numbers, huge and odd strings, nested junk. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, [], {}, 0, -1, 1, 1.5, 1e308, -1e308, 2 ** 53 + 2, '', 'x', '0', 'true', 'null', true, false, [null], [[]], { '': null }, '__proto__'),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 2000, maxLength: 4000 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Every path in a JSON value (keys and indices), shallow ones first. */
export function jsonPaths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...prefix, i]); jsonPaths(x, [...prefix, i], out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([...prefix, k]); jsonPaths(x, [...prefix, k], out); }
  return out;
}

export type JsonOp =
  | { op: 'whole'; value: unknown }
  | { op: 'text'; text: string }
  | { op: 'cut'; at: number }
  | { op: 'edit'; edits: { path: number; shallow: boolean; del: boolean; value: unknown }[] };

export function jsonOps(): fc.Arbitrary<JsonOp> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ op: fc.constant('whole' as const), value: hostileJson }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('text' as const), text: fc.string({ maxLength: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('cut' as const), at: fc.nat() }) },
    {
      weight: 12,
      arbitrary: fc.record({
        op: fc.constant('edit' as const),
        edits: fc.array(fc.record({ path: fc.nat(), shallow: fc.boolean(), del: fc.boolean(), value: hostileJson }), { minLength: 1, maxLength: 3 }),
      }),
    },
  );
}

/**
 * The text of `base` after `op`. Edits pick a path (half the time among paths at most two levels deep, where
 * the fields a reader checks live; otherwise anywhere, e.g. one vocabulary entry) and delete it or set a value.
 */
const pathCache = new WeakMap<object, { all: (string | number)[][]; shallow: (string | number)[][] }>();

export function applyJsonOp(base: unknown, op: JsonOp): string {
  if (op.op === 'whole') return JSON.stringify(op.value) ?? 'null';
  if (op.op === 'text') return op.text;
  const text = JSON.stringify(base);
  if (op.op === 'cut') return text.slice(0, op.at % (text.length + 1));
  const doc = structuredClone(base) as unknown;
  // Paths of the base (cached: a tokenizer.json has thousands); after an edit some may be stale, which the walk below skips.
  let cached = pathCache.get(base as object);
  if (!cached) pathCache.set(base as object, (cached = { all: jsonPaths(base), shallow: jsonPaths(base).filter((p) => p.length <= 2) }));
  const { all, shallow } = cached;
  for (const e of op.edits) {
    const pool = e.shallow && shallow.length > 0 ? shallow : all;
    if (pool.length === 0) break;
    const path = pool[e.path % pool.length];
    let parent = doc as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) {
      const next = parent?.[k];
      if (!next || typeof next !== 'object') { parent = undefined as unknown as Record<string, unknown>; break; }
      parent = next as Record<string | number, unknown>;
    }
    if (!parent) continue; // an earlier edit replaced an ancestor
    const key = path[path.length - 1];
    if (e.del) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else {
      Object.defineProperty(parent, key, { value: e.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return JSON.stringify(doc) ?? 'null';
}

/** Short, printable description of an input for reports (the first failing input). */
export function summary(v: unknown, max = 300): string {
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
