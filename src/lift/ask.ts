// ask(): answer a question about an absorbed document with LIFT.md §6's prompt — the document in context,
// middle-truncated (the paper) or reduced to its best-matching passages (retrieval, beyond the paper) —
// greedy, at most 200 new tokens, through the adapter. With no adapter it is the truncated-ICL baseline.
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { generateText } from '../model/generate.js';
import { liftLengths } from './budget.js';
import { buildAnswerPrompt, type ContextMode } from './truncate.js';

export interface AskOptions {
  title: string;
  /** The document text (kept with the adapter); '' answers from the adapter alone. */
  document: string;
  contextBudget: number;
  context?: ContextMode;
  maxTokens?: number;
  /** Stop strings (default: a blank line ends the answer). */
  stop?: string[];
  bos?: boolean;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export async function ask(loaded: LoadedModel, adapter: AdapterHooks | null, question: string, o: AskOptions): Promise<string> {
  if (question.trim().length === 0) throw new Error('the question is empty');
  const lengths = liftLengths(o.contextBudget);
  let prompt: number[];
  try {
    const input = { title: o.title, document: o.document, question };
    prompt = buildAnswerPrompt(loaded.tokenizer, input, lengths.truncation, o.context ?? 'truncate', { bos: o.bos ?? loaded.addBos });
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`${e.message}: the context budget ${o.contextBudget} is too small for the answer prompt with this title and question; use a larger --context-budget`);
    throw e;
  }
  const text = await generateText(loaded.model, loaded.tokenizer, prompt, {
    temperature: 0,
    maxTokens: o.maxTokens ?? 200,
    stop: o.stop ?? ['\n\n'],
    adapter,
    signal: o.signal,
    onToken: o.onToken ? (t) => o.onToken!(t) : undefined,
  });
  return text.trim();
}
