// The absorb run's report (report.html beside the adapter, from `lift absorb`, `lift demo` and the server's jobs):
// the loss per step and stage, Gated Memory's gates, the run, the QAs and the recipe.
import type { Report, Section } from './types.js';
import type { AbsorbResult } from '../lift/absorb.js';
import { GatedMemoryAdapter } from '../adapters/gated-memory.js';

export function absorbReport(title: string, r: AbsorbResult, modelId: string): Report {
  const byStage = new Map<string, { x: number[]; y: number[] }>();
  for (const l of r.train.losses) {
    const s = byStage.get(l.stage) ?? { x: [], y: [] };
    s.x.push(l.step + 1);
    s.y.push(l.skipped ? NaN : l.loss);
    byStage.set(l.stage, s);
  }
  const sections: Section[] = [
    { kind: 'lines', id: 'loss', title: 'Training loss per step', xLabel: 'optimizer step', yLabel: 'loss (nats/token)', series: [...byStage].map(([name, s]) => ({ name, ...s })) },
  ];
  if (r.adapter instanceof GatedMemoryAdapter) {
    const gates = r.adapter.lastGates();
    if (gates.length > 0)
      sections.push({
        kind: 'heatmap', id: 'gates', title: 'Gated Memory: mean gate value per layer and head (last training forward)',
        xLabel: 'head', yLabel: 'layer', xTicks: Array.from(gates[0], (_, h) => String(h)), yTicks: gates.map((_, l) => String(l)),
        values: gates.map((g) => Array.from(g)), min: 0, max: 1,
      });
  }
  sections.push(
    { kind: 'kv', id: 'run', title: 'Run', entries: [
      ['base model', modelId], ['adapter', String(r.recipe.adapter)], ['context budget', r.lengths.budget], ['segment length / stride', `${r.lengths.segmentLength} / ${r.lengths.stride}`],
      ['optimizer steps', r.train.steps], ['non-finite steps skipped', r.train.nonFiniteSteps], ['seconds', Number(r.seconds.toFixed(1))], ['auxiliary QAs', r.qas.length],
    ] },
    { kind: 'table', id: 'qas', title: 'Auxiliary QA pairs', columns: ['question', 'answer'], rows: r.qas.map((q) => [q.question, q.answer]) },
    { kind: 'text', id: 'recipe', title: 'Recipe', text: JSON.stringify(r.recipe, null, 2) },
  );
  return { title: `LIFT absorb: ${title}`, subtitle: `${modelId}`, createdAt: new Date().toISOString(), sections };
}
