// LongBench loader (github.com/THUDM/LongBench, v1 JSONL): one record {input, context, answers, length,
// dataset, language, all_classes, _id} per question → one EvalDocument with one question, because LIFT
// trains on each record's context separately. Also records which metric each LongBench task is scored
// with (LongBench eval.py's dataset2metric) and which few-shot tasks score only the first output line.
import { Fields, readJsonl } from './jsonl.js';
import type { EvalDocument, EvalQuestion } from './types.js';

export type LongBenchMetric =
  | 'qa_f1'
  | 'qa_f1_zh'
  | 'rouge'
  | 'rouge_zh'
  | 'classification'
  | 'retrieval'
  | 'retrieval_zh'
  | 'count'
  | 'code_sim';

/** LongBench eval.py dataset2metric (the *_e variants of LongBench-E use the same metrics). */
export const LONGBENCH_METRIC: Readonly<Record<string, LongBenchMetric>> = {
  narrativeqa: 'qa_f1', qasper: 'qa_f1', multifieldqa_en: 'qa_f1', multifieldqa_zh: 'qa_f1_zh',
  hotpotqa: 'qa_f1', '2wikimqa': 'qa_f1', musique: 'qa_f1', dureader: 'rouge_zh',
  gov_report: 'rouge', qmsum: 'rouge', multi_news: 'rouge', vcsum: 'rouge_zh',
  trec: 'classification', triviaqa: 'qa_f1', samsum: 'rouge', lsht: 'classification',
  passage_retrieval_en: 'retrieval', passage_count: 'count', passage_retrieval_zh: 'retrieval_zh',
  lcc: 'code_sim', 'repobench-p': 'code_sim',
};

/** Few-shot tasks whose prediction is cut at the first newline before scoring (LongBench eval.py). */
export const LONGBENCH_FIRST_LINE_TASKS: ReadonlySet<string> = new Set(['trec', 'triviaqa', 'samsum', 'lsht']);

export interface LongBenchRecordInfo {
  dataset: string;
  language: string;
  /** LongBench's `length`: word count (English) or character count (Chinese) of the context. */
  length: number;
}

/** The LongBench-specific fields of a loaded document, keyed by document id. */
export type LongBenchInfo = Map<string, LongBenchRecordInfo>;

/**
 * Reads one LongBench JSONL file. Each record becomes a document whose id is `_id`, title the dataset name,
 * text the `context`, and one question (id `_id`, type the dataset). For classification tasks
 * (`all_classes` present) the classes become `choices` and `gold` points at the first answer's class.
 * Throws DatasetFormatError naming file, line and field on a malformed record.
 */
export function loadLongBench(file: string, info?: LongBenchInfo): EvalDocument[] {
  const seen = new Set<string>();
  return readJsonl(file).map((rec) => {
    const f = new Fields(file, rec.line, rec.value);
    const id = f.str('_id');
    if (seen.has(id)) f.fail('_id', `duplicate id ${JSON.stringify(id)}`);
    seen.add(id);
    const dataset = f.str('dataset');
    const question: EvalQuestion = {
      id,
      question: f.str('input'), // empty for summarization tasks such as gov_report
      answers: f.strArray('answers'),
      type: dataset,
    };
    if (question.answers.length === 0) f.fail('answers', 'expected at least one reference answer');
    const classes = f.obj.all_classes;
    if (classes !== null && classes !== undefined) {
      const choices = f.strArray('all_classes');
      question.choices = choices;
      const gold = choices.indexOf(question.answers[0]);
      if (gold >= 0) question.gold = gold;
    }
    const doc: EvalDocument = { id, title: dataset, text: f.str('context'), questions: [question] };
    const language = f.optStr('language') ?? 'en';
    const length = f.has('length') ? f.num('length') : NaN;
    info?.set(id, { dataset, language, length });
    return doc;
  });
}

/** LongBench's post-processing for few-shot tasks: keep the prediction's first line only. */
export function longBenchPostprocess(dataset: string, prediction: string): string {
  const base = dataset.replace(/_e$/, '');
  // Python: prediction.lstrip('\n').split('\n')[0] — only newlines are stripped
  return LONGBENCH_FIRST_LINE_TASKS.has(base) ? prediction.replace(/^\n+/, '').split('\n')[0] : prediction;
}
