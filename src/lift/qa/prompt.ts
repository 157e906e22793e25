// The paper's QA-synthesis request and its answer parsing (docs/method.md §3), shared by the language-model
// generators (openai.ts, self.ts). Per QA: 16 consecutive sentences picked at random, one request asking for
// exactly one question, its answer and verbatim evidence; a QA whose evidence is not a verbatim substring of
// those sentences is rejected. The prompt is the released code's (GraphPKU/LIFT), word for word.
// Acceptance ('lenient', ours): each evidence line, list markers and quotes stripped, whitespace-normalised, is
// in the window; a failed attempt draws a new window. 'exact' (the authors', scripts/test_loogle_lift_random_
// icl_prompt.py generate_task): the whole text after "Evidence:", stripped, is an exact substring of the window,
// and all attempts ask about the same window.
import { normalizeSpace, splitSentences } from '../sentences.js';
import type { QAAcceptance } from '../presets.js';
import { randInt, rngFor } from '../rng.js';
import type { QAGenerateOptions, QAPair } from './types.js';

/** The system turn the released code sends with the request. */
export const QA_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** The §3 request for one QA about `passage` (verbatim from the released code, 16-sentence variant). */
export function paperQAPrompt(passage: string): string {
  return 'You are given a piece of text as the context. You should generate ONLY one question and the corresponding answer ' +
    'according to the context. You should also select one or more sentences directly from the original context as the evidence. ' +
    'The evidences must be verbatim sentences from the context. Please answer in the following format: ' +
    '\nQuestion: [question] \nAnswer: [answer] \nEvidence: [evidence]\n' +
    "Please DON'T output quotes when outputting evidences. The following is the piece of text: " + passage;
}

/** `count` consecutive sentences starting at a random sentence, joined with spaces (the released code's
 *  ' '.join(sentences[st:st+16])); the whole text when it has fewer sentences. */
export function pickWindow(sentences: readonly string[], count: number, rng: () => number): string {
  if (sentences.length <= count) return sentences.join(' ');
  const start = randInt(rng, 0, sentences.length - count);
  return sentences.slice(start, start + count).join(' ');
}

/** Strips list markers and wrapping quotes/brackets a model tends to add around evidence lines. */
function cleanEvidence(line: string): string {
  let s = line.trim().replace(/^(?:[-*•]|\d+[.)])\s+/, '').trim();
  for (;;) {
    const m = /^(["'\u201c\u2018[(])([\s\S]*)(["'\u201d\u2019\])])$/.exec(s);
    if (m === null) return s;
    s = m[2].trim();
  }
}

/** `evidenceText`: everything after "Evidence:", trimmed, as generated (what 'exact' acceptance checks). */
export type ParsedQA = { ok: true; qa: QAPair; evidenceText: string } | { ok: false; reason: string };

/** Parses "Question: … Answer: … Evidence: …" (as the released code: the text between the three labels). */
export function parseQAResponse(response: string): ParsedQA {
  const q = response.search(/Question\s*:/);
  const a = response.search(/Answer\s*:/);
  const e = response.search(/Evidences?\s*:/);
  if (q < 0 || a < 0 || e < 0 || !(q < a && a < e)) return { ok: false, reason: 'response lacks "Question: … Answer: … Evidence: …" in that order' };
  const after = (from: number, label: RegExp): number => from + (label.exec(response.slice(from))?.[0].length ?? 0);
  const question = response.slice(after(q, /^Question\s*:/), a).trim();
  const answer = response.slice(after(a, /^Answer\s*:/), e).trim();
  const evidenceText = response.slice(after(e, /^Evidences?\s*:/)).trim();
  if (question === '' || answer === '' || evidenceText === '') return { ok: false, reason: 'empty question, answer or evidence' };
  const lines = evidenceText.split('\n').map(cleanEvidence).filter((l) => l.length > 0);
  return { ok: true, qa: { question, answer, evidence: lines }, evidenceText };
}

/** 'exact' acceptance: the evidence text as generated is a substring of the window, character for character. */
export function evidenceIsExact(evidenceText: string, window: string): boolean {
  return evidenceText.length > 0 && window.includes(evidenceText);
}

/** True when every evidence string (whole or with quotes/brackets stripped) is in the passage, whitespace-normalised. */
export function evidenceIsVerbatim(evidence: readonly string[], passage: string): boolean {
  const hay = normalizeSpace(passage);
  return evidence.length > 0 && evidence.every((ev) => {
    const n = normalizeSpace(ev);
    return n.length > 0 && hay.includes(n);
  });
}

export interface SynthesisOptions extends QAGenerateOptions {
  /** Sentences per request (default 16, §3). */
  sentencesPerQA?: number;
  /** Attempts per QA before giving that QA up with a warning (default 5, as the released code). */
  attemptsPerQA?: number;
  /** 'lenient' (default, ours) or 'exact' (the authors': whole evidence verbatim, retries on the same window). */
  acceptance?: QAAcceptance;
  /** Requests in flight at once (default 1). */
  concurrency?: number;
  /** Names the generator in warnings. */
  label?: string;
}

/**
 * Runs the §3 loop: for QA slot k, attempt t draws a window from rngFor(seed, k, t) ('exact': always t = 0, the
 * same window), asks, parses, checks the evidence; a bad answer (unparseable, or evidence not verbatim) tries
 * again, and a slot with no good
 * answer after attemptsPerQA tries is skipped with a warning. Errors thrown by `ask` (transport failures,
 * already retried by the caller) propagate. Results keep slot order, whatever the concurrency.
 */
export async function synthesizeQAs(passage: string, n: number, ask: (prompt: string, signal?: AbortSignal) => Promise<string>, opts: SynthesisOptions = {}): Promise<QAPair[]> {
  const sentences = splitSentences(passage).map((s) => s.text);
  if (sentences.length === 0 || n <= 0) return [];
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const label = opts.label ?? 'QA generator';
  const seed = opts.seed ?? 0;
  const attempts = Math.max(1, opts.attemptsPerQA ?? 5);
  const exact = (opts.acceptance ?? 'lenient') === 'exact';
  const results: (QAPair | null)[] = new Array(n).fill(null);
  let next = 0, done = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (failed === null && next < n) {
      const k = next++;
      const reasons: string[] = [];
      for (let t = 0; t < attempts && failed === null; t++) {
        opts.signal?.throwIfAborted();
        const window = pickWindow(sentences, opts.sentencesPerQA ?? 16, rngFor(seed, k, exact ? 0 : t));
        let reply: string;
        try {
          reply = await ask(paperQAPrompt(window), opts.signal);
        } catch (e) {
          failed ??= e;
          return;
        }
        const parsed = parseQAResponse(reply);
        if (!parsed.ok) { reasons.push(parsed.reason); continue; }
        const verbatim = exact ? evidenceIsExact(parsed.evidenceText, window) : evidenceIsVerbatim(parsed.qa.evidence, window);
        if (!verbatim) { reasons.push('evidence is not a verbatim part of the passage'); continue; }
        results[k] = exact ? { ...parsed.qa, evidence: [parsed.evidenceText] } : parsed.qa;
        break;
      }
      if (results[k] === null && failed === null) warn(`${label}: QA ${k + 1}/${n} skipped after ${attempts} attempts (${[...new Set(reasons)].join('; ')})`);
      opts.onProgress?.(++done, n);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, n)) }, worker));
  if (failed !== null) throw failed;
  return results.filter((r): r is QAPair => r !== null);
}
