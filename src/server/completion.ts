// One completion: the prompt's token ids (base model: the chat template or the raw prompt; a document: LIFT's
// answering prompt, as `lift ask`), then generation through the document's adapter with the request's
// sampling settings, streamed chunk by chunk to `onText`. Concurrent completions interleave token by token:
// generate() yields to the event loop before every forward pass, so each request advances in turn.
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { throughOwnPart } from '../lift/ask.js';
import { generate, tokenBudget, NonFiniteOutputError } from '../model/generate.js';
import { applyChatTemplate } from '../text/chat-template.js';
import { liftLengths } from '../lift/budget.js';
import { answerPromptTail, buildAnswerPrompt } from '../lift/truncate.js';
import type { AbsorbedDocument } from '../lift/folder.js';
import { ApiError } from './errors.js';
import type { ChatMessage, SamplingRequest } from './request.js';

export interface Prepared {
  prompt: number[];
  adapter: AdapterHooks | null;
  /** With several documents' adapters (a router): the prompt's tokens from here on (the question) choose one. */
  routeFrom?: number;
  /** Document answers are trimmed like `lift ask`'s (leading and trailing whitespace). */
  trim: boolean;
  /** `lift ask`'s defaults for documents (greedy; a blank line ends the answer); OpenAI's for the base model. */
  defaults: { temperature: number; stop: string[]; maxTokens?: number };
}

export interface CompletionResult {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
  /** The client went away before the end. */
  aborted: boolean;
}

/** The base model's prompt for a conversation: its chat template, else the messages' text joined by lines. */
export function basePrompt(loaded: LoadedModel, messages: ChatMessage[] | string): Prepared {
  let text: string;
  if (typeof messages === 'string') text = messages;
  else if (loaded.chatTemplate) text = applyChatTemplate(loaded.chatTemplate, messages, { addGenerationPrompt: true });
  else text = messages.map((m) => m.content).join('\n'); // a base model without a template continues the text
  return { prompt: loaded.tokenizer.encode(text, { bos: loaded.addBos }), adapter: null, trim: false, defaults: { temperature: 1, stop: [] } };
}

/** A document's answering prompt (docs/method.md §6): the question with the document middle-truncated to its budget. */
export function documentPrompt(loaded: LoadedModel, doc: AbsorbedDocument, adapter: AdapterHooks, question: string, field: string): Prepared {
  if (question.trim().length === 0) throw new ApiError(400, `${field}: the question is empty`, 'invalid_request_error', 'invalid_value', field);
  const promptOver = (document: string): number[] => {
    try {
      return buildAnswerPrompt(loaded.tokenizer, { title: doc.title, document, question }, liftLengths(doc.contextBudget).truncation, 'truncate', { bos: loaded.addBos });
    } catch (e) {
      if (e instanceof RangeError) throw new ApiError(400, `${field}: the question is too long for this document's context budget of ${doc.contextBudget} tokens`, 'invalid_request_error', 'context_length_exceeded', field);
      throw e;
    }
  };
  const prompt = promptOver(doc.text);
  const routeFrom = adapter.forPrompt ? prompt.length - answerPromptTail(loaded.tokenizer, { title: doc.title, question }).length : undefined;
  // A document absorbed in parts: routed on the question, answered through the chosen part over its own text, as `lift ask`.
  const own = throughOwnPart(adapter, prompt, routeFrom, 'truncate', promptOver);
  return { prompt: own.prompt, adapter: own.adapter, routeFrom: own.routeFrom, trim: true, defaults: { temperature: 0, stop: ['\n\n'], maxTokens: 200 } };
}

/** Seeds for run.c's xorshift must be non-zero; any integer a client sends maps to a distinct non-zero state. */
const seedState = (seed: number): bigint => BigInt(seed) ^ 0x9e3779b97f4a7c15n;

/**
 * Generates the completion, calling onText with each piece of text as it is released. Ends early, cleanly, when
 * `signal` aborts (the client went away); the result then holds what was generated.
 */
export async function runCompletion(loaded: LoadedModel, p: Prepared, req: SamplingRequest, signal: AbortSignal, onText: (text: string) => void): Promise<CompletionResult> {
  const ctx = loaded.model.config.max_position_embeddings;
  if (p.prompt.length >= ctx)
    throw new ApiError(400, `this model's maximum context length is ${ctx} tokens; the prompt has ${p.prompt.length} tokens`, 'invalid_request_error', 'context_length_exceeded', 'messages');
  // Without max_tokens: `lift ask`'s 200 for documents, else as long as the context allows (OpenAI's chat default).
  const budget = tokenBudget(p.prompt.length, ctx, { maxTokens: req.maxTokens ?? p.defaults.maxTokens ?? ctx });
  const seed = req.seed ?? Math.floor(Math.random() * 2 ** 31) + 1;
  let text = '', held = '', started = !p.trim, completionTokens = 0;
  const release = (s: string): void => {
    if (s.length === 0) return;
    text += s;
    onText(s);
  };
  try {
    for await (const t of generate(loaded.model, loaded.tokenizer, p.prompt, {
      maxTokens: budget, temperature: req.temperature ?? p.defaults.temperature, topP: req.topP ?? 1, seed: seedState(seed),
      stop: req.stop ?? p.defaults.stop, adapter: p.adapter, routeFrom: p.routeFrom, signal,
    })) {
      if (t.id >= 0) completionTokens++;
      if (!p.trim) {
        release(t.text);
        continue;
      }
      // Trimmed answers: nothing before the first non-space; trailing spaces held back until more text follows.
      let s = held + t.text;
      if (!started) {
        s = s.trimStart();
        if (s.length > 0) started = true;
      }
      const body = s.trimEnd();
      held = s.slice(body.length);
      release(body);
    }
  } catch (e) {
    if (e instanceof NonFiniteOutputError) throw new ApiError(500, e.message, 'server_error', 'non_finite_output');
    throw e;
  }
  // 'length' when the token budget was used up; 'stop' for an end-of-sequence token or a stop string (a stop
  // string completed by the very last allowed token is reported as 'length').
  return { text, finishReason: completionTokens >= budget ? 'length' : 'stop', promptTokens: p.prompt.length, completionTokens, aborted: signal.aborted };
}
