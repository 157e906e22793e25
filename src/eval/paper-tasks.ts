// The authors' per-task training settings (`lift eval … --preset paper`), read from their run scripts
// (GraphPKU/LIFT shells/LooGLE_main/Llama-LIFT-*.sh and shells/LongBench_main/Llama-LIFT-*.sh):
//   LooGLE ShortQA / LongQA        10 QAs, epochs 3 + 5, lr 1e-3, constant
//   LongBench narrativeqa          30 QAs, epochs 3 + 5, lr 2e-3, 4 warm-up steps (constant_with_warmup)
//   LongBench passage_retrieval_en 60 QAs, epochs 3 + 5, lr 2e-3, 4 warm-up steps
//   LongBench musique              10 QAs, epochs 3 + 5, lr 2e-3, 4 warm-up steps
//   LongBench gov_report, qmsum     0 QAs, 8 epochs of segments only (involve_qa_epochs 0), lr 1e-3
// LongBench datasets without a script of theirs get the settings of their kind (summaries as gov_report, QA as
// musique) and say so in `source`; needle and QuALITY, which they ran without a shell, get LooGLE's.
// Each is a recipe layer (src/lift/recipe.ts) that `lift eval` puts over the preset, under a recipe file and the
// flags typed.
import type { TaskName } from './tasks.js';
import type { Recipe } from '../lift/recipe.js';

export interface TaskRecipe extends Required<Pick<Recipe, 'qa' | 'epochs' | 'lr' | 'warmup'>> {
  /** Where the numbers come from (a script of theirs, or what they were inferred from). */
  source: string;
}

/** The per-task settings as a recipe layer. */
export function taskLayer(t: TaskRecipe): Recipe {
  const { source: _source, ...layer } = t;
  return layer;
}

const LOOGLE: TaskRecipe = { qa: 10, epochs: [3, 5], lr: 1e-3, warmup: 0, source: 'shells/LooGLE_main/Llama-LIFT-ShortQA.sh, Llama-LIFT-LongQA.sh' };
const SUMMARY = (name: string, script: boolean): TaskRecipe => ({ qa: 0, epochs: [8, 0], lr: 1e-3, warmup: 0, source: script ? `shells/LongBench_main/Llama-LIFT-${name}.sh` : `${name}: no script of theirs; as their summaries (gov_report, qmsum)` });
const QA = (name: string, qa: number, script: boolean): TaskRecipe => ({ qa, epochs: [3, 5], lr: 2e-3, warmup: 4, source: script ? `shells/LongBench_main/Llama-LIFT-${name}.sh` : `${name}: no script of theirs; as their QA tasks (musique)` });

/** LongBench datasets scored on summaries (LongBench eval.py: rouge_score / rouge_zh_score). */
const SUMMARIES = new Set(['gov_report', 'qmsum', 'multi_news', 'vcsum']);
const SCRIPTED_QA: Record<string, number> = { narrativeqa: 30, passage_retrieval_en: 60, musique: 10 };

/** The authors' settings for one document of `task` (LongBench: its `dataset`, the *_e variants as their base). */
export function paperTaskRecipe(task: TaskName, dataset?: string): TaskRecipe {
  if (task !== 'longbench') return task === 'loogle' ? LOOGLE : { ...LOOGLE, source: `${task}: no script of theirs; as LooGLE` };
  const name = (dataset ?? '').replace(/_e$/, '');
  if (SUMMARIES.has(name)) return SUMMARY(name, name === 'gov_report' || name === 'qmsum');
  if (name in SCRIPTED_QA) return QA(name, SCRIPTED_QA[name], true);
  return QA(name || 'unknown dataset', 10, false);
}
