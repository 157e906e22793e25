// §3 QA synthesis with the loaded model itself (the paper used the same family's instruct model). The
// request is rendered with the model's chat template (applyChatTemplate) and completed by a function the
// caller injects (`complete`, e.g. greedy generation up to ~1024 tokens), so this file does not depend on the
// generation code. A model without a chat template gets the raw request text followed by a newline.
import { applyChatTemplate } from '../../text/chat-template.js';
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';
import { QA_SYSTEM_PROMPT, synthesizeQAs } from './prompt.js';

export interface SelfQAOptions {
  /** Prompt text → the model's continuation (without the prompt). */
  complete: (prompt: string) => Promise<string>;
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
    this.id = `self:${opts.modelId ?? 'model'}`;
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
    return synthesizeQAs(passage, n, (request) => this.opts.complete(this.render(request)), {
      ...g, concurrency: 1, sentencesPerQA: this.opts.sentencesPerQA, attemptsPerQA: this.opts.attemptsPerQA, label: this.id,
    });
  }
}
