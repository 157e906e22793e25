// The pluggable auxiliary-QA synthesis interface (docs/method.md §3). Implementations: builtin.ts (no language
// model), openai.ts (any OpenAI-compatible endpoint), self.ts (the loaded model through its chat template);
// cache.ts wraps any of them with an on-disk cache, index.ts picks one from a spec string.

/** One synthetic question with its answer and the verbatim passage sentences that support it. */
export interface QAPair {
  question: string;
  answer: string;
  /** Verbatim substrings of the passage (whitespace-normalised comparison). */
  evidence: string[];
}

export interface QAGenerateOptions {
  /** Seeds every random choice (sentence windows, cloze picks); default 0. Same seed → same requests. */
  seed?: number;
  /** Aborts in-flight requests. */
  signal?: AbortSignal;
  /** Non-fatal problems (rejected QAs, skipped slots); default console.warn. */
  warn?: (message: string) => void;
  /** Progress for display, in the generator's units: QA slots finished (model generators), sentences examined (builtin). */
  onProgress?: (done: number, total: number) => void;
}

export interface QAGenerator {
  /** Identity for cache keys: kind plus whatever changes the output (endpoint, model, version). */
  readonly id: string;
  /** Up to `n` QAs about `passage` (the whole document); fewer when the generator cannot find more. */
  generate(passage: string, n: number, opts?: QAGenerateOptions): Promise<QAPair[]>;
}
