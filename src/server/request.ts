// The bodies of POST /v1/chat/completions and /v1/completions, checked field by field as OpenAI documents
// them; a wrong field is a 400 naming it (param). Fields OpenAI has and we cannot honour with a meaning the
// client expects (n > 1, logprobs, tools) are refused, not ignored; harmless ones (user, metadata,
// penalties at their defaults) are accepted.
import { ApiError, badField } from './errors.js';

export interface ChatMessage { role: 'system' | 'developer' | 'user' | 'assistant'; content: string }

export interface SamplingRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

export interface ChatRequest extends SamplingRequest { messages: ChatMessage[] }
export interface CompletionRequest extends SamplingRequest { prompt: string; echo: boolean }

type Body = Record<string, unknown>;

function object(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object', 'invalid_request_error', 'invalid_body');
  return body as Body;
}

function optNumber(b: Body, k: string, min: number, max: number, integer = false): number | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) throw badField(k, `expected ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw badField(k, `expected a value from ${min} to ${max}, got ${v}`);
  return v;
}

function optBoolean(b: Body, k: string): boolean | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badField(k, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function sampling(b: Body): SamplingRequest {
  if (typeof b.model !== 'string' || b.model.length === 0) throw badField('model', `expected a model id (a non-empty string; GET /v1/models lists them), got ${JSON.stringify(b.model)}`);
  for (const k of ['n', 'best_of'] as const)
    if (b[k] !== undefined && b[k] !== null && b[k] !== 1) throw badField(k, `only 1 (one choice per request) is supported, got ${JSON.stringify(b[k])}`);
  // OpenAI's "off" values (false; 0 in /v1/completions) are accepted; anything asking for log probabilities is not.
  if (b.logprobs !== undefined && b.logprobs !== null && b.logprobs !== false && b.logprobs !== 0) throw badField('logprobs', 'log probabilities are not supported');
  for (const k of ['tools', 'functions', 'response_format', 'logit_bias'] as const)
    if (b[k] !== undefined && b[k] !== null && !(k === 'response_format' && (b[k] as { type?: unknown }).type === 'text')) throw badField(k, 'not supported by lift serve');
  for (const k of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = optNumber(b, k, -2, 2);
    if (v !== undefined && v !== 0) throw badField(k, 'only 0 (no penalty) is supported');
  }
  const stream = optBoolean(b, 'stream') ?? false;
  let includeUsage = false;
  if (b.stream_options !== undefined && b.stream_options !== null) {
    if (typeof b.stream_options !== 'object' || Array.isArray(b.stream_options)) throw badField('stream_options', `expected an object, got ${JSON.stringify(b.stream_options)}`);
    if (!stream) throw badField('stream_options', 'only allowed when stream is true');
    includeUsage = optBoolean(b.stream_options as Body, 'include_usage') ?? false;
  }
  let stop: string[] | undefined;
  if (b.stop !== undefined && b.stop !== null) {
    const s = typeof b.stop === 'string' ? [b.stop] : b.stop;
    if (!Array.isArray(s) || s.length > 4 || !s.every((x) => typeof x === 'string')) throw badField('stop', `expected a string or an array of at most 4 strings, got ${JSON.stringify(b.stop)}`);
    stop = s.filter((x) => x.length > 0);
  }
  const maxTokens = optNumber(b, 'max_completion_tokens', 1, 1e6, true) ?? optNumber(b, 'max_tokens', 1, 1e6, true);
  return {
    model: b.model, stream, includeUsage, maxTokens, stop,
    temperature: optNumber(b, 'temperature', 0, 2),
    topP: optNumber(b, 'top_p', 0, 1),
    seed: optNumber(b, 'seed', -(2 ** 53), 2 ** 53, true),
  };
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

export function parseChat(body: unknown): ChatRequest {
  const b = object(body);
  const s = sampling(b);
  if (!Array.isArray(b.messages) || b.messages.length === 0) throw badField('messages', `expected a non-empty array of {role, content}, got ${JSON.stringify(b.messages)?.slice(0, 100)}`);
  const messages = b.messages.map((m: unknown, i): ChatMessage => {
    const p = `messages[${i}]`;
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw badField(p, 'expected an object {role, content}');
    const { role, content } = m as Body;
    if (typeof role !== 'string' || !ROLES.has(role)) throw badField(`${p}.role`, `expected one of ${[...ROLES].join(', ')}, got ${JSON.stringify(role)}`);
    return { role: role as ChatMessage['role'], content: messageText(content, `${p}.content`) };
  });
  if (!messages.some((m) => m.role === 'user')) throw badField('messages', 'expected at least one message with role "user"');
  return { ...s, messages };
}

/** A message's text: a string, or an array of {type: "text", text} parts (OpenAI's content parts). */
function messageText(c: unknown, p: string): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    return c.map((part: unknown, i) => {
      const q = part as Body | null;
      if (!q || q.type !== 'text' || typeof q.text !== 'string') throw badField(`${p}[${i}]`, 'only text parts {"type": "text", "text": …} are supported');
      return q.text;
    }).join('');
  }
  throw badField(p, `expected a string or an array of text parts, got ${JSON.stringify(c)}`);
}

export function parseCompletion(body: unknown): CompletionRequest {
  const b = object(body);
  const s = sampling(b);
  let prompt = b.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt !== 'string') throw badField('prompt', `expected a string (or an array of exactly one string), got ${JSON.stringify(b.prompt)?.slice(0, 100)}`);
  if (b.suffix !== undefined && b.suffix !== null) throw badField('suffix', 'not supported');
  return { ...s, prompt, echo: optBoolean(b, 'echo') ?? false };
}
