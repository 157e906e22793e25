// Renders a model's chat template (tokenizer_config.json "chat_template", Jinja) into the prompt text the
// model was fine-tuned on, through @huggingface/jinja: Hugging Face's JS port of the Jinja subset that
// transformers' apply_chat_template uses, so templates written for Python render the same here.
import { Template } from '@huggingface/jinja';
import type { TokenizerConfig } from './hf-tokenizer.js';
import { specialTokenText } from './hf-tokenizer.js';

export interface ChatMessage { role: string; content: string }

export interface ChatTemplateOptions {
  /** Append the header that opens the assistant's turn (transformers' add_generation_prompt). */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
}

/** Error for a model that ships no chat template: prompts must then be written as plain text. */
export class NoChatTemplateError extends Error {
  constructor(where: string) {
    super(`${where} has no chat template (no "chat_template" in tokenizer_config.json): this is probably a base model; ` +
      'use a plain-text prompt, or pass a tokenizer_config.json that has one');
    this.name = 'NoChatTemplateError';
  }
}

/** The chat template of a parsed tokenizer_config.json (the 'default' one when several are named); throws NoChatTemplateError. */
export function chatTemplateOf(config: TokenizerConfig, where = 'the model'): string {
  const t = config.chat_template;
  if (typeof t === 'string' && t.length > 0) return t;
  if (Array.isArray(t)) {
    const named = t as { name?: unknown; template?: unknown }[];
    const d = named.find((x) => x.name === 'default') ?? named[0];
    if (typeof d?.template === 'string') return d.template;
  }
  throw new NoChatTemplateError(where);
}

/** Renders `messages` with a Jinja chat template, the way transformers' apply_chat_template(tokenize=False) does. */
export function applyChatTemplate(template: string | null | undefined, messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  if (typeof template !== 'string' || template.length === 0) throw new NoChatTemplateError('the model');
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (e) {
    throw new Error(`chat template does not parse: ${(e as Error).message}`);
  }
  return compiled.render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: opts.bosToken ?? '',
    eos_token: opts.eosToken ?? '',
  }); // raise_exception(), used by templates to reject a conversation, is built into @huggingface/jinja
}

/** applyChatTemplate with the template and bos/eos tokens of a parsed tokenizer_config.json. */
export function applyConfigChatTemplate(config: TokenizerConfig, messages: ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}, where?: string): string {
  return applyChatTemplate(chatTemplateOf(config, where), messages, {
    addGenerationPrompt: opts.addGenerationPrompt,
    bosToken: specialTokenText(config.bos_token) ?? undefined,
    eosToken: specialTokenText(config.eos_token) ?? undefined,
  });
}
