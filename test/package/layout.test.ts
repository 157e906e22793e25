// The shape of src/ (issue 16): no import cycles between modules (runtime imports; `import type` is erased, so
// a cycle through types alone is no load-order hazard), and no source file over 600 lines. The cycle finder is
// checked on a planted cycle first, so a finder that never finds one cannot pass the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const MAX_LINES = 600;

/** Relative modules a file imports at run time (`import type` and `import { type A, type B }` left out). */
export function runtimeImports(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s+(type\s+)?([^'";]*?)\s*from\s*'(\.[^']+)'/gms)) {
    if (m[1]) continue;
    const names = m[2].trim();
    if (names.startsWith('{') && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue;
    out.push(join(dirname(file), m[3].replace(/\.js$/, '.ts')));
  }
  for (const m of source.matchAll(/^\s*import\s+'(\.[^']+)'/gm)) out.push(join(dirname(file), m[1].replace(/\.js$/, '.ts')));
  return out;
}

/** The strongly connected components of more than one module (Tarjan): each is an import cycle. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>(), found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const sources = (): Map<string, string> => new Map(
  (readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => [join(SRC, f), readFileSync(join(SRC, f), 'utf8')]),
);

test('the cycle finder finds a planted cycle and passes a chain', () => {
  const a = '/x/a.ts', b = '/x/b.ts', c = '/x/c.ts';
  assert.deepEqual(runtimeImports(a, "import { f } from './b.js';\nimport type { T } from './c.js';\nimport { type U } from './c.js';\n"), [b]);
  assert.deepEqual(cycles(new Map([[a, [b]], [b, [c]], [c, [a]]])), [[a, b, c]]);
  assert.deepEqual(cycles(new Map([[a, [b]], [b, [c]], [c, []]])), []);
});

test(`src/: no runtime import cycle, and no file over ${MAX_LINES} lines`, () => {
  const files = sources();
  const graph = new Map([...files].map(([f, s]) => [f, runtimeImports(f, s)]));
  const found = cycles(graph).map((c) => c.map((f) => f.slice(SRC.length + 1)).join(' → '));
  assert.deepEqual(found, [], `import cycles:\n${found.join('\n')}`);
  const long = [...files].map(([f, s]) => [f.slice(SRC.length + 1), s.split('\n').length - (s.endsWith('\n') ? 1 : 0)] as const).filter(([, n]) => n > MAX_LINES);
  assert.deepEqual(long, [], `files over ${MAX_LINES} lines: ${long.map(([f, n]) => `${f} (${n})`).join(', ')}`);
});
