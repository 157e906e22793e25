// The evaluation harness behind `lift eval` (docs/method.md §9: "always report truncated ICL, fine-tuning on the raw
// text, and LIFT side by side"): for every document of a task it trains what each method needs, asks every
// method the same questions with the same prompt and budget, and scores the answers (tasks.ts). Then it
// aggregates the per-question records into a method × metric table and, for the needle task, a length × depth
// grid per method. Library code: no argv, no files; the CLI (cli/commands/eval.ts) writes the outputs.
//   icl            ask() with no adapter: the truncated-ICL baseline (§6)
//   ft             LoRA fine-tuned on the raw text: plain segments, no CT, no QAs
//   lift           absorb() with the run's recipe (recipe.ts; the paper's §1–§5 by default: CT on, auxiliary QAs)
//   lift-retrieve  the lift adapter, the context chosen by retrieval instead of middle truncation
import type { LoadedModel } from '../model/load.js';
import type { Adapter } from '../adapters/files.js';
import { absorb, type AbsorbOptions } from '../lift/absorb.js';
import { mergeRecipes, recipeAbsorbOptions, type Recipe } from '../lift/recipe.js';
import { ask } from '../lift/ask.js';
import type { QAGenerator } from '../lift/qa/types.js';
import type { AnswerStop } from '../lift/presets.js';
import type { EvalDocument } from './datasets/types.js';
import { buildJudgePrompt, parseJudgeVerdict } from './metrics.js';
import { scoreAnswer, type TaskName, type TaskSpec } from './tasks.js';

export type Method = 'icl' | 'ft' | 'lift' | 'lift-retrieve';
export const METHODS: readonly Method[] = ['icl', 'ft', 'lift', 'lift-retrieve'];

/** One answered question: the unit of results.jsonl. */
export interface EvalRecord {
  task: TaskName;
  doc_id: string;
  question_id: string;
  method: Method;
  question: string;
  references: string[];
  prediction: string;
  scores: Record<string, number>;
  /** Seconds to answer this question. */
  seconds: number;
  /** Seconds spent training this method's adapter on this document (0 for icl). */
  train_seconds: number;
  /** needle only: the haystack cell. */
  length?: number;
  depth?: number;
  /** Why the question was not asked (its prompt does not fit the context budget); the prediction is then ''. */
  error?: string;
}

/** Asks an LLM judge whether a prediction means the reference; null when it answered neither True nor False. */
export type Judge = (question: string, reference: string, prediction: string) => Promise<boolean | null>;

export interface HarnessOptions {
  methods: readonly Method[];
  /**
   * The run's recipe (src/lift/recipe.ts), built as absorb's is (defaults → preset → file → flags): lift trains
   * with it; ft with it as LoRA on plain segments (no CT, QAs, guard, anchor or recitations, as "fine-tuning on
   * the raw text" is in the paper). Its context budget is every method's (default: the model's, up to 2048).
   */
  recipe: Recipe;
  /** lift's recipe for one document (a preset's per-task settings as a layer, paper-tasks.ts); ft keeps the run's. */
  perDocument?: (doc: EvalDocument) => Recipe;
  /** lift's QA generator (the recipe names it; 'self' needs the loaded model, so the caller builds it). */
  qaGenerator: QAGenerator | null;
  /** lift's guard texts when the recipe names a file (guard_text; read by the caller, as absorb's CLI does). */
  guardText?: string[];
  maxTokens: number;
  /** How every method's answers are decoded (default: ask()'s — stop at a blank line, the model's BOS). */
  answer?: { answerStop?: AnswerStop; bos?: boolean };
  judge?: Judge;
  signal?: AbortSignal;
  onEvent?: (e: HarnessEvent) => void;
}

export type HarnessEvent =
  | { type: 'start'; documents: number; answers: number }
  | { type: 'train'; doc_id: string; method: 'ft' | 'lift'; seconds: number; steps: number; firstLoss: number | null; finalLoss: number | null }
  | { type: 'record'; record: EvalRecord; done: number }
  | { type: 'warning'; message: string };

/** Which adapter a method answers with (lift-retrieve reuses lift's, so it is trained once). */
const TRAINS: Record<Method, 'ft' | 'lift' | null> = { icl: null, ft: 'ft', lift: 'lift', 'lift-retrieve': 'lift' };

/** ft's changes to the run's recipe: LoRA on the raw text's plain segments, nothing else of LIFT. */
const FT: Recipe = { adapter: 'lora', contextualized: false, qa: 0, guard: 'none', anchor: 0, answer_recitations: 0 };

/** The recipe a trained method trains with (lift on `doc`: with its per-document settings). */
export function methodRecipe(kind: 'ft' | 'lift', o: Pick<HarnessOptions, 'recipe' | 'perDocument'>, doc?: EvalDocument): Recipe {
  if (kind === 'ft') return mergeRecipes(o.recipe, FT);
  return doc && o.perDocument ? o.perDocument(doc) : o.recipe;
}

/** The absorb() options of a trained method: its recipe through recipeAbsorbOptions, lift's QA generator. */
export function absorbOptions(kind: 'ft' | 'lift', o: HarnessOptions, doc?: EvalDocument): AbsorbOptions {
  const lift = kind === 'lift';
  return { ...recipeAbsorbOptions(methodRecipe(kind, o, doc)), qaGenerator: lift ? o.qaGenerator : null, ...(lift && o.guardText ? { guardText: o.guardText } : {}), signal: o.signal };
}

/** Runs every method on every document of the task; records come back in document, method, question order. */
export async function runEval(loaded: LoadedModel, spec: TaskSpec, o: HarnessOptions): Promise<EvalRecord[]> {
  const methods = METHODS.filter((m) => o.methods.includes(m));
  if (methods.length === 0) throw new Error(`no methods to run: choose from ${METHODS.join(', ')}`);
  const total = spec.docs.reduce((n, d) => n + d.questions.length, 0) * methods.length;
  // Every method answers within the recipe's budget (absorb's default when it names none).
  const contextBudget = o.recipe.context_budget ?? Math.min(loaded.model.config.max_position_embeddings, 2048);
  o.onEvent?.({ type: 'start', documents: spec.docs.length, answers: total });
  const records: EvalRecord[] = [];
  for (const doc of spec.docs) {
    const trained = new Map<'ft' | 'lift', { adapter: Adapter; seconds: number }>();
    try {
      for (const method of methods) {
        const kind = TRAINS[method];
        if (kind && !trained.has(kind)) {
          // QAs too long for a small budget are skipped by absorb one warning each; one line per document is enough.
          let skipped = 0;
          const r = await absorb(loaded, { title: doc.title, text: doc.text }, {
            ...absorbOptions(kind, o, doc),
            onEvent: (e) => {
              if (e.type !== 'warning') return;
              if (e.message.startsWith('QA skipped')) skipped++;
              else o.onEvent?.({ type: 'warning', message: `${doc.id} ${kind}: ${e.message}` });
            },
          });
          if (skipped) o.onEvent?.({ type: 'warning', message: `${doc.id} ${kind}: ${skipped} of ${r.qas.length} auxiliary QAs skipped (their prompt does not fit the context budget ${contextBudget})` });
          trained.set(kind, { adapter: r.adapter, seconds: r.seconds });
          const l = r.train.losses;
          o.onEvent?.({ type: 'train', doc_id: doc.id, method: kind, seconds: r.seconds, steps: r.train.steps, firstLoss: l[0]?.loss ?? null, finalLoss: l.at(-1)?.loss ?? null });
        }
        const t = kind ? trained.get(kind)! : null;
        const cell = spec.cells.get(doc.id);
        for (const q of doc.questions) {
          const t0 = performance.now();
          let prediction = '', error: string | undefined;
          try {
            prediction = await ask(loaded, t?.adapter ?? null, q.question, {
              title: doc.title, document: doc.text, contextBudget, maxTokens: o.maxTokens,
              context: method === 'lift-retrieve' ? 'retrieve' : 'truncate', signal: o.signal, ...o.answer,
            });
          } catch (e) {
            // A question whose prompt cannot fit the budget fails the same way for every method: it is recorded
            // (empty answer, scored 0) rather than ending a long run; anything else is a real error.
            if (!/too small for the answer prompt/.test((e as Error).message)) throw e;
            error = (e as Error).message;
            o.onEvent?.({ type: 'warning', message: `${q.id} (${method}) not asked: ${error}` });
          }
          const seconds = (performance.now() - t0) / 1000;
          const scores = scoreAnswer(spec.task, q, prediction, spec.longbench.get(doc.id));
          if (o.judge && error === undefined) {
            try {
              const v = await o.judge(q.question, q.answers[0] ?? '', prediction);
              if (v !== null) scores.judge = v ? 1 : 0;
              else o.onEvent?.({ type: 'warning', message: `judge gave no True/False verdict for ${q.id} (${method}); left out of its mean` });
            } catch (e) {
              o.onEvent?.({ type: 'warning', message: `judge failed for ${q.id} (${method}): ${(e as Error).message}` });
            }
          }
          const record: EvalRecord = {
            task: spec.task, doc_id: doc.id, question_id: q.id, method, question: q.question, references: q.answers,
            prediction, scores, seconds, train_seconds: t?.seconds ?? 0, ...(cell && { length: cell.length, depth: cell.depth }), ...(error && { error }),
          };
          records.push(record);
          o.onEvent?.({ type: 'record', record, done: records.length });
        }
      }
    } finally {
      for (const { adapter } of trained.values()) adapter.dispose();
    }
  }
  return records;
}

// ---------------------------------------------------------------- LLM judge

export interface JudgeOptions {
  /** OpenAI-compatible base URL (…/v1) or the full …/chat/completions URL. */
  url: string;
  model: string;
  timeoutMs?: number;
  /** Sent as a bearer token when given (e.g. from OPENAI_API_KEY). */
  apiKey?: string;
}

/**
 * LooGLE's GPT-4 judge (metrics.buildJudgePrompt) through an OpenAI-compatible chat endpoint with plain fetch:
 * temperature 0, max_tokens 10, as upstream. HTTP errors and timeouts throw with the URL and status.
 */
export function makeJudge(o: JudgeOptions): Judge {
  const url = /\/chat\/completions\/?$/.test(o.url) ? o.url : o.url.replace(/\/+$/, '') + '/chat/completions';
  return async (question, reference, prediction) => {
    const p = buildJudgePrompt(question, reference, prediction);
    const messages = [...(p.system ? [{ role: 'system', content: p.system }] : []), { role: 'user', content: p.user }];
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ model: o.model, messages, temperature: 0, max_tokens: 10 }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
      });
    } catch (e) {
      const err = e as Error;
      throw new Error(`${url}: ${err.name === 'TimeoutError' ? `no answer within ${(o.timeoutMs ?? 60_000) / 1000} s` : err.message}`);
    }
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const body = (await res.json()) as { choices?: { message?: { content?: string } }[] };
    const text = body.choices?.[0]?.message?.content;
    if (typeof text !== 'string') throw new Error(`${url}: the reply has no choices[0].message.content`);
    return parseJudgeVerdict(text);
  };
}

// ---------------------------------------------------------------- aggregation

export interface MethodSummary {
  method: Method;
  /** Questions answered. */
  n: number;
  /** Mean of each metric over the records that have it. */
  metrics: Record<string, number>;
  /** How many records each mean is over (a judge may leave some out). */
  counts: Record<string, number>;
  /** Questions not asked because their prompt does not fit the budget (scored 0, included in n). */
  not_asked: number;
  answer_seconds: number;
  /** Training seconds summed over documents (lift-retrieve repeats lift's: it is the same adapter). */
  train_seconds: number;
}

export interface Summary {
  task: TaskName | string;
  metrics: string[];
  methods: MethodSummary[];
}

/** The order metrics are shown in: the task's headline number first. */
const METRIC_ORDER = ['needle', 'keyword_recall', 'accuracy', 'judge', 'longbench', 'f1', 'em', 'rougeL', 'cloze_exact', 'cloze_partial', 'unparsed'];

export function summarize(records: readonly EvalRecord[]): Summary {
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.scores)) names.add(k);
  const rank = (k: string): number => (METRIC_ORDER.includes(k) ? METRIC_ORDER.indexOf(k) : METRIC_ORDER.length);
  const metrics = [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const methods = METHODS.filter((m) => records.some((r) => r.method === m)).map((method): MethodSummary => {
    const rs = records.filter((r) => r.method === method);
    const sums: Record<string, number> = {}, counts: Record<string, number> = {};
    for (const r of rs)
      for (const [k, v] of Object.entries(r.scores)) {
        if (!Number.isFinite(v)) continue;
        sums[k] = (sums[k] ?? 0) + v;
        counts[k] = (counts[k] ?? 0) + 1;
      }
    const means: Record<string, number> = {};
    for (const k of metrics) if (counts[k]) means[k] = sums[k] / counts[k];
    const trainByDoc = new Map(rs.map((r) => [r.doc_id, r.train_seconds]));
    return {
      method, n: rs.length, metrics: means, counts, not_asked: rs.filter((r) => r.error !== undefined).length,
      answer_seconds: rs.reduce((s, r) => s + r.seconds, 0),
      train_seconds: [...trainByDoc.values()].reduce((s, x) => s + x, 0),
    };
  });
  return { task: records[0]?.task ?? '', metrics, methods };
}

/** The summary as a plain-text table: one row per method, one column per metric (means, 4 decimals). */
export function formatTable(s: Summary): string {
  const skipped = s.methods.some((m) => m.not_asked > 0); // the column only appears when it says something
  const header = ['method', 'n', ...(skipped ? ['not asked'] : []), ...s.metrics, 'train s', 'answer s'];
  const rows = s.methods.map((m) => [
    m.method, String(m.n), ...(skipped ? [String(m.not_asked)] : []), ...s.metrics.map((k) => (k in m.metrics ? m.metrics[k].toFixed(4) : '-')),
    m.train_seconds.toFixed(1), m.answer_seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export interface NeedleMatrix {
  method: Method;
  lengths: number[];
  depths: number[];
  /** [depth][length]: mean needle score of the cell, null when not measured. */
  values: (number | null)[][];
}

/** The needle score per (depth, length) cell of one method: the heatmap of the needle test. */
export function needleMatrix(records: readonly EvalRecord[], method: Method, metric = 'needle'): NeedleMatrix {
  const rs = records.filter((r) => r.method === method && r.length !== undefined && r.depth !== undefined);
  const lengths = [...new Set(rs.map((r) => r.length!))].sort((a, b) => a - b);
  const depths = [...new Set(rs.map((r) => r.depth!))].sort((a, b) => a - b);
  const values = depths.map((d) => lengths.map((l) => {
    const cell = rs.filter((r) => r.depth === d && r.length === l && Number.isFinite(r.scores[metric]));
    return cell.length ? cell.reduce((s, r) => s + r.scores[metric], 0) / cell.length : null;
  }));
  return { method, lengths, depths, values };
}
