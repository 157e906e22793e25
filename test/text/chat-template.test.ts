// Chat templates through @huggingface/jinja. The shared SmolLM tokenizer_config.json is the base model's and has
// no chat_template: it must give the clear "no chat template" error. Rendering uses SmolLM2-135M-Instruct's
// template, verbatim from HuggingFaceTB/SmolLM2-135M-Instruct tokenizer_config.json (revision e2c3f755,
// "chat_template" at line 146); the expected strings follow from it (ChatML with a default system prompt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { requireShared, sharedPath } from '../helpers/shared.js';
import { applyChatTemplate, applyConfigChatTemplate, chatTemplateOf, NoChatTemplateError } from '../../src/text/chat-template.js';
import { HFTokenizer } from '../../src/text/hf-tokenizer.js';

const SMOLLM2_INSTRUCT = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const SYSTEM = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n';

test('chat template: SmolLM2-Instruct renders ChatML with its default system prompt', () => {
  const out = applyChatTemplate(SMOLLM2_INSTRUCT, [{ role: 'user', content: 'What is 2+2?' }], { addGenerationPrompt: true });
  assert.equal(out, `${SYSTEM}<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n`);
  const multi = applyChatTemplate(SMOLLM2_INSTRUCT, [
    { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' },
  ]);
  assert.equal(multi, '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n');
});

test('chat template: SmolLM config has no template -> clear error; with one, the prompt tokenizes to chat markers', (t) => {
  if (!requireShared(t, 'tokenizers/smollm2')) return;
  const cfgPath = sharedPath('tokenizers/smollm2/tokenizer_config.json');
  const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  assert.throws(() => chatTemplateOf(config, 'SmolLM-135M'), (e: unknown) =>
    e instanceof NoChatTemplateError && /SmolLM-135M has no chat template/.test(e.message) && /tokenizer_config\.json/.test(e.message));
  assert.throws(() => applyChatTemplate(undefined, []), NoChatTemplateError);

  const withTemplate = { ...config, chat_template: SMOLLM2_INSTRUCT };
  const prompt = applyConfigChatTemplate(withTemplate, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
  const tok = new HFTokenizer(JSON.parse(readFileSync(sharedPath('tokenizers/smollm2/tokenizer.json'), 'utf8')) as Record<string, unknown>, withTemplate);
  const ids = tok.encode(prompt);
  const imStart = tok.pieceToId('<|im_start|>'), imEnd = tok.pieceToId('<|im_end|>');
  assert.equal(ids[0], imStart);
  assert.equal(ids.filter((id) => id === imStart).length, 3);
  assert.equal(ids.filter((id) => id === imEnd).length, 2);
  assert.ok(tok.eosIds.includes(imEnd as number));
});

test('chat template: bos/eos variables, named templates, raise_exception and syntax errors', () => {
  const tpl = '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}';
  assert.equal(applyChatTemplate(tpl, [{ role: 'user', content: 'x' }], { bosToken: '<s>', eosToken: '</s>' }), '<s>[user] x</s>');
  assert.equal(applyConfigChatTemplate({ chat_template: tpl, bos_token: { content: '<s>' }, eos_token: '</s>' }, [{ role: 'user', content: 'x' }]), '<s>[user] x</s>');
  assert.equal(chatTemplateOf({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] }), 'D');
  assert.throws(() => applyChatTemplate("{{ raise_exception('roles must alternate') }}", []), /roles must alternate/);
  assert.throws(() => applyChatTemplate('{% for %}', []), /chat template does not parse/);
});
