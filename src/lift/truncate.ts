// The answer prompt and middle truncation (docs/method.md §6), built at the TOKEN level so the prompt always fits
// the budget: only the document part is shortened; the title, instruction and question are kept whole.
//
//   prompt = head + doc + tail
//   head = "The article {title}: \n"
//   doc  = the document, middle-truncated (or retrieved, see retrieve.ts) to what is left of the budget
//   tail = "\nPlease answer the question based on {title}.\nQuestion: {Q}\nAnswer: "
//
// The paper truncates the whole tokenized prompt (first B/2 − len("...") + "..." + last B/2); cutting only
// the document instead keeps the question intact even for long questions and gives the same result otherwise.
import type { Tokenizer } from '../text/tokenizer.js';
import { retrieveContext, type RetrieveOptions } from './retrieve.js';
import { encodeAfter, encodeStart } from './tokens.js';

/** The marker put where text was cut (§2, §6). */
export const ELLIPSIS = '...';

/**
 * Middle truncation (§6): `ids` unchanged when it fits, else the first ⌈B/2⌉ − |ellipsis| tokens, the
 * ellipsis, and the last ⌊B/2⌋ tokens; exactly `budget` tokens.
 */
export function middleTruncate(ids: readonly number[], budget: number, ellipsis: readonly number[]): number[] {
  if (ids.length <= budget) return ids.slice();
  if (budget <= ellipsis.length) throw new RangeError(`middleTruncate: budget ${budget} leaves no room beside the ${ellipsis.length}-token ellipsis`);
  const tail = Math.floor(budget / 2);
  const head = budget - tail - ellipsis.length;
  return [...ids.slice(0, head), ...ellipsis, ...ids.slice(ids.length - tail)];
}

export interface AnswerPromptInput {
  title: string;
  document: string;
  question: string;
}

export interface AnswerPromptOptions {
  /** Prepend the tokenizer's BOS (counted in the budget). §6 uses none; llama2.c-style base models want one. */
  bos?: boolean;
  /** Chunking and separator for mode 'retrieve'. */
  retrieve?: RetrieveOptions;
  /**
   * The document's tokens as encodeAfter(document) gives them, when the caller has them (absorb: one
   * tokenization for every QA sample instead of one per QA, which grew as QAs × document).
   */
  documentIds?: readonly number[];
}

export type ContextMode = 'truncate' | 'retrieve';

/** The three token pieces of the §6 prompt, the document untruncated. */
export function answerPromptParts(tok: Tokenizer, input: AnswerPromptInput, documentIds?: readonly number[]): { head: number[]; doc: readonly number[]; tail: number[] } {
  return {
    head: encodeStart(tok, `The article ${input.title}: \n`),
    doc: documentIds ?? encodeAfter(tok, input.document),
    tail: answerPromptTail(tok, input),
  };
}

/** The §6 prompt's tail: the instruction, the question and "Answer: " (what a router scores, ask.ts). */
export function answerPromptTail(tok: Tokenizer, input: Pick<AnswerPromptInput, 'title' | 'question'>): number[] {
  return encodeAfter(tok, `\nPlease answer the question based on ${input.title}.\nQuestion: ${input.question}\nAnswer: `);
}

/**
 * Token ids of the §6 answer prompt, at most `budget` tokens (use liftLengths(B).truncation to leave room for
 * the answer). mode 'truncate': the document is middle-truncated; 'retrieve': the question's best BM25 chunks
 * are kept (retrieve.ts). Throws a RangeError when the title and question alone leave no room for a document.
 */
export function buildAnswerPrompt(tok: Tokenizer, input: AnswerPromptInput, budget: number, mode: ContextMode = 'truncate', opts: AnswerPromptOptions = {}): number[] {
  const { head, doc, tail } = answerPromptParts(tok, input, opts.documentIds);
  const bos = opts.bos ? [bosOf(tok)] : [];
  const ellipsis = encodeAfter(tok, ELLIPSIS);
  const room = budget - bos.length - head.length - tail.length;
  if (room < ellipsis.length + 2) {
    throw new RangeError(`buildAnswerPrompt: the prompt without its document is ${budget - room} tokens; the budget ${budget} leaves ${room} for the document`);
  }
  let docIds: readonly number[] = doc;
  if (doc.length > room && mode === 'retrieve') {
    docIds = encodeAfter(tok, retrieveContext(tok, input.document, input.question, room, opts.retrieve));
  }
  // In 'retrieve' mode this is a safety net: joins can re-tokenize a token or two longer than counted.
  docIds = middleTruncate(docIds, room, ellipsis);
  return [...bos, ...head, ...docIds, ...tail];
}

/** The BOS id, or an error saying the tokenizer has none. */
export function bosOf(tok: Tokenizer): number {
  if (tok.bosId === null) throw new Error('a BOS token was requested but the tokenizer has none');
  return tok.bosId;
}
