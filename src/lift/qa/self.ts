// §3 QA synthesis with the loaded model itself (the paper used the same family's instruct model). The
// request is rendered with the model's chat template (applyChatTemplate) and completed by a function the
// caller injects (`complete`: greedy generation of up to `maxTokens` tokens — ours 200, the authors' 1024), so
// this file does not depend on the generation code. A model without a chat template gets the raw request text
// followed by a newline. `complete` is greedy, so a request repeated word for word ('exact' acceptance retries the
// same window) is answered from the last reply instead of generated again: the same text, without the minutes.
import { applyChatTemplate } from '../../text/chat-template.js';
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';
import { QA_SYSTEM_PROMPT, synthesizeQAs } from './prompt.js';
import type { QAAcceptance } from '../presets.js';

export interface SelfQAOptions {
  /** Prompt text → the model's greedy continuation (without the prompt), at most `maxTokens` tokens. */
  complete: (prompt: string, maxTokens: number) => Promise<string>;
  /** Longest reply in tokens (default 200; the authors' code: 1024). */
  maxTokens?: number;
  /** QA acceptance (prompt.ts; default 'lenient'; the authors': 'exact'). */
  acceptance?: QAAcceptance;
  /** The model's Jinja chat template, or null for a base model. */
  chatTemplate: string | null;
  bosToken?: string;
  eosToken?: string;
  /** Model identity for cache keys (e.g. LoadedModel.id). */
  modelId?: string;
  /** System turn (default the released code's "You are a helpful assistant."; null for none). */
  system?: string | null;
  sentencesPerQA?: number;
  attemptsPerQA?: number;
}

export class SelfQAGenerator implements QAGenerator {
  readonly id: string;

  constructor(private readonly opts: SelfQAOptions) {
    // Settings that change the QAs are in the id (cache keys); the defaults' id is the one earlier runs cached under.
    const max = opts.maxTokens ?? 200, exact = (opts.acceptance ?? 'lenient') === 'exact';
    this.id = `self:${opts.modelId ?? 'model'}${max !== 200 ? `:max${max}` : ''}${exact ? ':exact' : ''}`;
  }

  /** The text sent to `complete` for one request. */
  render(request: string): string {
    const { chatTemplate, bosToken, eosToken } = this.opts;
    if (chatTemplate === null) return `${request}\n`;
    const system = this.opts.system === undefined ? QA_SYSTEM_PROMPT : this.opts.system;
    const user = { role: 'user', content: request };
    const render = (messages: { role: string; content: string }[]): string =>
      applyChatTemplate(chatTemplate, messages, { addGenerationPrompt: true, bosToken, eosToken });
    if (system === null) return render([user]);
    try {
      return render([{ role: 'system', content: system }, user]);
    } catch {
      return render([user]); // some templates (Gemma, Mistral's) raise on a system turn
    }
  }

  generate(passage: string, n: number, g: QAGenerateOptions = {}): Promise<QAPair[]> {
    let last: { prompt: string; reply: Promise<string> } | null = null;
    const ask = (request: string): Promise<string> => {
      const prompt = this.render(request);
      if (last?.prompt !== prompt) last = { prompt, reply: this.opts.complete(prompt, this.opts.maxTokens ?? 200) };
      return last.reply;
    };
    return synthesizeQAs(passage, n, ask, {
      ...g, concurrency: 1, sentencesPerQA: this.opts.sentencesPerQA, attemptsPerQA: this.opts.attemptsPerQA, acceptance: this.opts.acceptance, label: this.id,
    });
  }
}
