// The common shape every evaluation loader (LooGLE, LongBench, QuALITY, needle) produces, so the runner,
// the LIFT trainer and the metrics never see dataset-specific fields.

/** One long document and the questions asked about it (the unit LIFT trains an adapter on). */
export interface EvalDocument {
  id: string;
  title: string;
  text: string;
  questions: EvalQuestion[];
}

export interface EvalQuestion {
  id: string;
  question: string;
  /** Reference answers; metrics take the max over them. */
  answers: string[];
  /** Multiple-choice options, when the task has them. */
  choices?: string[];
  /** Index into `choices` of the correct option. */
  gold?: number;
  /** Supporting passages from the document, when the dataset gives them. */
  evidence?: string[];
  /** Dataset-specific category (LooGLE long-dependency type, LongBench dataset name, ...). */
  type?: string;
  /** Cloze tasks only: mask placeholder ("<mask-0>") → entity, scored per mask (see metrics.clozeMatch). */
  masks?: Record<string, string>;
}
