// ask(): answer a question about an absorbed document with docs/method.md §6's prompt — the document in context,
// middle-truncated (the paper) or reduced to its best-matching passages (retrieval, beyond the paper) —
// greedy, at most 200 new tokens, through the adapter. With no adapter it is the truncated-ICL baseline.
// Where the answer ends (answerStop): ours stops at the first blank line and trims ('blank-line': a short answer,
// not the next paragraph the model goes on to write); the authors' code decodes the raw greedy output up to EOS
// or 200 tokens and scores it as it is ('eos'; scripts/test_loogle_lift_random_icl_prompt.py prediction()).
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { AdapterRouter } from '../adapters/route.js';
import { generateText } from '../model/generate.js';
import { liftLengths } from './budget.js';
import { answerPromptTail, buildAnswerPrompt, type ContextMode } from './truncate.js';
import type { AnswerStop } from './presets.js';

export interface AskOptions {
  title: string;
  /** The document text (kept with the adapter); '' answers from the adapter alone. */
  document: string;
  contextBudget: number;
  context?: ContextMode;
  maxTokens?: number;
  /** 'blank-line' (default): a blank line ends the answer, which is trimmed; 'eos': the raw output to EOS. */
  answerStop?: AnswerStop;
  /** Stop strings (default: those of answerStop — a blank line, or none). */
  stop?: string[];
  bos?: boolean;
  signal?: AbortSignal;
  onToken?: (text: string) => void;
}

export async function ask(loaded: LoadedModel, adapter: AdapterHooks | null, question: string, o: AskOptions): Promise<string> {
  if (question.trim().length === 0) throw new Error('the question is empty');
  const lengths = liftLengths(o.contextBudget);
  const mode = o.context ?? 'truncate';
  const promptOver = (document: string): number[] => {
    try {
      return buildAnswerPrompt(loaded.tokenizer, { title: o.title, document, question }, lengths.truncation, mode, { bos: o.bos ?? loaded.addBos });
    } catch (e) {
      if (e instanceof RangeError) throw new Error(`${e.message}: the context budget ${o.contextBudget} is too small for the answer prompt with this title and question; use a larger --context-budget`);
      throw e;
    }
  };
  let prompt = promptOver(o.document);
  // A router (several adapters) picks by the prompt's tail — the question — not by the shared document context.
  let routeFrom = adapter?.forPrompt ? prompt.length - answerPromptTail(loaded.tokenizer, { title: o.title, question }).length : undefined;
  ({ prompt, adapter, routeFrom } = throughOwnPart(adapter, prompt, routeFrom, mode, promptOver));
  const raw = o.answerStop === 'eos';
  const text = await generateText(loaded.model, loaded.tokenizer, prompt, {
    temperature: 0,
    maxTokens: o.maxTokens ?? 200,
    stop: o.stop ?? (raw ? [] : ['\n\n']),
    adapter,
    routeFrom,
    signal: o.signal,
    onToken: o.onToken ? (t) => o.onToken!(t) : undefined,
  });
  return raw ? text : text.trim();
}

/**
 * The parts of one document (a router with per-part contexts): routes on the question (prompt[routeFrom…]), then
 * answers through the chosen part with that part's own text in context — the context it was trained with —
 * instead of the whole document's middle-truncation (recall suite, own-prefix probes: 4k 0.65 → 0.73, 8k 0.71 →
 * 0.83 on five seeds; docs/recall.md "Parts and routing"). Retrieval keeps the whole document: it picks the
 * passages that match the question wherever they are. Any other adapter: as given. `lift ask`, the server.
 */
export function throughOwnPart(adapter: AdapterHooks | null, prompt: number[], routeFrom: number | undefined, mode: ContextMode, promptOver: (document: string) => number[]): { prompt: number[]; adapter: AdapterHooks | null; routeFrom: number | undefined } {
  if (!(adapter instanceof AdapterRouter && adapter.contexts && mode === 'truncate')) return { prompt, adapter, routeFrom };
  const { index } = adapter.choose(prompt, routeFrom);
  return { prompt: promptOver(adapter.contexts[index]), adapter: adapter.parts[index], routeFrom: undefined };
}
