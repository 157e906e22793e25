// §3 QA synthesis through any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp server,
// Ollama, LM Studio…). The request is the paper's (prompt.ts); transport is hardened so a long LIFT run never
// hangs on it: a per-request timeout (AbortController), retries with exponential backoff on 429/5xx/network
// errors/timeouts and on malformed bodies (bad JSON, missing choices[0].message.content), honouring
// Retry-After; once retries are spent, an Error naming the endpoint and what was wrong.
import type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';
import { QA_SYSTEM_PROMPT, synthesizeQAs } from './prompt.js';

export interface OpenAIQAOptions {
  /** e.g. "https://api.openai.com/v1" or "http://127.0.0.1:8080/v1" (or the full …/chat/completions URL). */
  baseUrl: string;
  model: string;
  /** Environment variable holding the API key (default OPENAI_API_KEY); no Authorization header when unset. */
  apiKeyEnv?: string;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Retries after the first try of a request (default 4). */
  maxRetries?: number;
  /** Per-request timeout in ms, covering the whole response body (default 120000). */
  timeoutMs?: number;
  /** First backoff in ms, doubled per retry, capped at maxBackoffMs (defaults 1000 / 30000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Sampling temperature sent with each request (default: not sent, the server's default). */
  temperature?: number;
  /** max_tokens per reply (default 1024, as the released code's max_new_tokens). */
  maxTokens?: number;
  sentencesPerQA?: number;
  attemptsPerQA?: number;
  /** Injected fetch (tests, proxies); default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** A request that failed for good: names the endpoint, the attempts made and the last problem. */
export class QAEndpointError extends Error {
  constructor(readonly endpoint: string, readonly problem: string, readonly attempts: number) {
    super(`OpenAI-compatible endpoint ${endpoint}: ${problem} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`);
    this.name = 'QAEndpointError';
  }
}

/** The chat-completions URL of a base URL. */
export function chatCompletionsUrl(baseUrl: string): string {
  const u = baseUrl.replace(/\/+$/, '');
  return u.endsWith('/chat/completions') ? u : `${u}/chat/completions`;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve, reject) => {
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = (): void => { clearTimeout(t); reject(signal!.reason); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

interface Failure { problem: string; retryable: boolean; retryAfterMs?: number }

/** One POST with its own timeout; resolves to the reply text or a classified failure (never hangs). */
async function attempt(url: string, body: string, headers: Record<string, string>, timeoutMs: number, doFetch: typeof fetch, outer?: AbortSignal): Promise<{ content: string } | Failure> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error('timeout')), timeoutMs);
  const onOuter = (): void => ctrl.abort(outer!.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  try {
    let text: string;
    let status: number;
    let retryAfter: string | null;
    try {
      const res = await doFetch(url, { method: 'POST', headers, body, signal: ctrl.signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text(); // the abort signal also covers reading the body
    } catch (e) {
      if (outer?.aborted) throw outer.reason;
      if (ctrl.signal.aborted) return { problem: `no complete response within the ${timeoutMs} ms timeout`, retryable: true };
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      return { problem: `network error: ${cause?.code ?? cause?.message ?? (e as Error).message}`, retryable: true };
    }
    if (status < 200 || status >= 300) {
      const retryable = status === 429 || status >= 500 || status === 408;
      const secs = retryAfter !== null ? Number(retryAfter) : NaN;
      return { problem: `HTTP ${status}: ${text.slice(0, 200).trim()}`, retryable, retryAfterMs: Number.isFinite(secs) ? secs * 1000 : undefined };
    }
    let json: unknown;
    try { json = JSON.parse(text); } catch { return { problem: `response body is not JSON: ${JSON.stringify(text.slice(0, 120))}`, retryable: true }; }
    const content = (json as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') return { problem: 'response JSON lacks choices[0].message.content (a string)', retryable: true };
    return { content };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

/** A chat-completions client with the timeout/retry policy above; returns the assistant's text. */
export function makeChatClient(opts: OpenAIQAOptions): (messages: { role: string; content: string }[], signal?: AbortSignal) => Promise<string> {
  const url = chatCompletionsUrl(opts.baseUrl);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const key = process.env[opts.apiKeyEnv ?? 'OPENAI_API_KEY'];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const maxRetries = Math.max(0, opts.maxRetries ?? 4);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const backoff = opts.backoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  return async (messages, signal) => {
    const body = JSON.stringify({
      model: opts.model, messages, max_tokens: opts.maxTokens ?? 1024,
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
    });
    let last: Failure = { problem: 'no attempt made', retryable: false };
    for (let i = 0; i <= maxRetries; i++) {
      const r = await attempt(url, body, headers, timeoutMs, doFetch, signal);
      if ('content' in r) return r.content;
      last = r;
      if (!r.retryable || i === maxRetries) throw new QAEndpointError(url, r.problem, i + 1);
      const wait = Math.min(maxBackoff, r.retryAfterMs ?? backoff * 2 ** i);
      await sleep(wait * (0.75 + 0.5 * Math.random()), signal); // jitter: retries from parallel workers spread out
    }
    throw new QAEndpointError(url, last.problem, maxRetries + 1);
  };
}

export class OpenAIQAGenerator implements QAGenerator {
  readonly id: string;
  private readonly chat: ReturnType<typeof makeChatClient>;

  constructor(private readonly opts: OpenAIQAOptions) {
    if (!opts.model) throw new Error(`OpenAI-compatible QA generator for ${opts.baseUrl}: a model name is required`);
    this.id = `openai:${chatCompletionsUrl(opts.baseUrl)}#${opts.model}`;
    this.chat = makeChatClient(opts);
  }

  generate(passage: string, n: number, g: QAGenerateOptions = {}): Promise<QAPair[]> {
    return synthesizeQAs(passage, n, (prompt, signal) => this.chat([
      { role: 'system', content: QA_SYSTEM_PROMPT },
      { role: 'user', content: prompt },
    ], signal), {
      ...g,
      concurrency: this.opts.concurrency ?? 4,
      sentencesPerQA: this.opts.sentencesPerQA,
      attemptsPerQA: this.opts.attemptsPerQA,
      label: this.id,
    });
  }
}
