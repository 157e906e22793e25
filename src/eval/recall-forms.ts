// The recall suite's three probe forms (issue 14 item 1) over generated facts (datasets/facts.ts):
//   prefix      the middle-truncated document + the planted sentence's own prefix ("Lily had a dog named")
//   paraphrase  the same context + another wording's prefix ("The name of Lily's dog was")
//   question    ask(): LIFT.md §6's answer prompt with the document middle-truncated to the budget and the
//               fact's question ("What was the name of Lily's dog?"); correct when the reply holds the answer
// Each item also has the answer's NLL (nats per token, teacher-forced): after the probe for the two prefix forms,
// after the answer prompt + " " for the question (as QA samples are trained, samples.ts qaSample).
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { generateText } from '../model/generate.js';
import { ask } from '../lift/ask.js';
import { liftLengths } from '../lift/budget.js';
import { answerPromptTail, buildAnswerPrompt } from '../lift/truncate.js';
import { AdapterRouter } from '../adapters/route.js';
import { encodeAfter } from '../lift/tokens.js';
import { answerNll, answerTokens, inContextPrompt, normalizeAnswer, probeTailLength, recallPrompt, startsWithAnswer } from './recall.js';
import type { GeneratedFact, ProbeForm } from './datasets/facts.js';
import type { QAPair } from '../lift/qa/types.js';

export interface FormItem {
  family: GeneratedFact['family'];
  form: ProbeForm;
  answer: string;
  prediction: string;
  correct: boolean;
  answerNll: number;
  /** With a router (src/adapters/route.ts): the index of the adapter it chose for this probe. */
  route?: number;
}

/**
 * The adapter a probe runs through: a router's choice for `prompt`, scoring its tokens from `from` on (the probe's
 * own words, not the document context every part shares); any other adapter as it is.
 */
function routed(adapter: AdapterHooks | null, prompt: readonly number[], from: number): { adapter: AdapterHooks | null; route?: number } {
  if (!(adapter instanceof AdapterRouter)) return { adapter };
  const { index } = adapter.choose(prompt, from);
  return { adapter: adapter.parts[index], route: index };
}

/** The fact as a paraphrase probe sees it: another wording's prefix and the answer's spelling after it. */
const paraphrased = (f: GeneratedFact) => ({ ...f, prompt: f.paraphrase, continuation: f.paraphraseContinuation });

/** Most new tokens of a question probe's reply: enough for the longest answer and a few words around it. */
const ASK_TOKENS = 24;

/** True when the reply holds the answer as whole words (case, punctuation and quotes ignored). */
export function replyHolds(reply: string, answer: string): boolean {
  const a = normalizeAnswer(answer);
  return a.length > 0 && ` ${normalizeAnswer(reply)} `.includes(` ${a} `);
}

/**
 * One probe of one fact in one form, greedy, through `adapter` (null: the base model). `inContext`: the ceiling
 * of reading — the document cut right after the fact's sentence, so the context's tail holds it (the two prefix
 * forms: inContextPrompt; the question: ask() over that cut document, whose middle truncation keeps the tail).
 */
export async function probe(loaded: LoadedModel, adapter: AdapterHooks | null, doc: { title: string; text: string }, f: GeneratedFact, form: ProbeForm, budget: number, inContext = false): Promise<FormItem> {
  if (form === 'question') {
    const text = inContext ? doc.text.slice(0, doc.text.indexOf(f.sentence) + f.sentence.length) : doc.text;
    const tok = loaded.tokenizer, lengths = liftLengths(budget);
    const input = { title: doc.title, document: text, question: f.question };
    // A router chooses on ask()'s own prompt, by the question (as ask() would); the answer's NLL uses the same choice,
    // and with part contexts the chosen part's text is the document (as ask() does).
    const askPrompt = adapter instanceof AdapterRouter ? buildAnswerPrompt(tok, input, lengths.truncation, 'truncate', { bos: loaded.addBos }) : [];
    const r = routed(adapter, askPrompt, askPrompt.length - answerPromptTail(tok, input).length);
    const ctx = !inContext && r.route !== undefined && adapter instanceof AdapterRouter && adapter.contexts ? adapter.contexts[r.route] : text;
    const prediction = await ask(loaded, r.adapter, f.question, { title: doc.title, document: ctx, contextBudget: budget, maxTokens: ASK_TOKENS });
    const ans = encodeAfter(tok, ` ${f.answer}`);
    const prompt = buildAnswerPrompt(tok, { ...input, document: ctx }, Math.min(lengths.truncation, budget - ans.length), 'truncate', { bos: loaded.addBos });
    return { family: f.family, form, answer: f.answer, prediction, correct: replyHolds(prediction, f.answer), answerNll: answerNll(loaded, r.adapter, prompt, ans), route: r.route };
  }
  const fact = form === 'prefix' ? f : paraphrased(f);
  const prompt = (inContext ? inContextPrompt : recallPrompt)(loaded, doc.text, fact, budget);
  const ans = answerTokens(loaded, fact);
  const r = routed(adapter, prompt, prompt.length - probeTailLength(loaded, fact));
  // With part contexts, the probe is rebuilt over the chosen part's own text (the context its adapter trained with).
  const final = !inContext && r.route !== undefined && adapter instanceof AdapterRouter && adapter.contexts ? recallPrompt(loaded, adapter.contexts[r.route], fact, budget) : prompt;
  const prediction = await generateText(loaded.model, loaded.tokenizer, final, { temperature: 0, maxTokens: Math.max(6, ans.length + 1), adapter: r.adapter });
  return { family: f.family, form, answer: f.answer, prediction, correct: startsWithAnswer(prediction, f.answer), answerNll: answerNll(loaded, r.adapter, final, ans), route: r.route };
}

/** Every fact in every form asked for. */
export async function probeAll(loaded: LoadedModel, adapter: AdapterHooks | null, doc: { title: string; text: string }, facts: readonly GeneratedFact[], forms: readonly ProbeForm[], budget: number, inContext = false): Promise<FormItem[]> {
  const out: FormItem[] = [];
  for (const f of facts) for (const form of forms) out.push(await probe(loaded, adapter, doc, f, form, budget, inContext));
  return out;
}

/**
 * Which facts the QAs happened to cover: a QA covers a fact when its evidence holds the fact's sentence and its
 * answer holds the fact's answer (a cloze of the name, a recitation ending with it) — `asked` — or only the
 * evidence does (`seen`: a cloze of another word of the sentence).
 */
export function qaCoverage(facts: readonly GeneratedFact[], qas: readonly Pick<QAPair, 'answer' | 'evidence'>[]): { asked: Set<GeneratedFact>; seen: Set<GeneratedFact> } {
  const asked = new Set<GeneratedFact>(), seen = new Set<GeneratedFact>();
  for (const f of facts) {
    for (const qa of qas) {
      if (!qa.evidence.some((e) => e.includes(f.sentence) || (e.trim().length > 0 && f.sentence.includes(e.trim())))) continue;
      seen.add(f);
      if (replyHolds(qa.answer, f.answer)) asked.add(f);
    }
  }
  return { asked, seen };
}
