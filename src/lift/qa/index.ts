// Picks a §3 QA generator from a spec string (docs/method.md §3): 'builtin' (no model), 'self' (the loaded model,
// through its chat template and an injected completion function) or an http(s) URL (an OpenAI-compatible
// endpoint); optionally wrapped in the on-disk cache.
import { BuiltinQAGenerator } from './builtin.js';
import { CachedQAGenerator } from './cache.js';
import { OpenAIQAGenerator, type OpenAIQAOptions } from './openai.js';
import { SelfQAGenerator, type SelfQAOptions } from './self.js';
import type { QAGenerator } from './types.js';

export type { QAGenerateOptions, QAGenerator, QAPair } from './types.js';
export { BuiltinQAGenerator } from './builtin.js';
export { CachedQAGenerator } from './cache.js';
export { OpenAIQAGenerator, QAEndpointError } from './openai.js';
export { SelfQAGenerator } from './self.js';

export interface MakeQAGeneratorOptions {
  /** For a URL spec: the model name (required) and transport settings. */
  openai?: Omit<OpenAIQAOptions, 'baseUrl'>;
  /** For 'self': the completion function and chat template (required). */
  self?: SelfQAOptions;
  /** Cache directory; no caching when absent. */
  cacheDir?: string;
  warn?: (message: string) => void;
}

/** 'builtin' | 'self' | 'http(s)://…' → a QAGenerator (cached when cacheDir is given). */
export function makeQAGenerator(spec: 'builtin' | 'self' | string, opts: MakeQAGeneratorOptions = {}): QAGenerator {
  let gen: QAGenerator;
  if (spec === 'builtin') {
    gen = new BuiltinQAGenerator();
  } else if (spec === 'self') {
    if (!opts.self) throw new Error("QA generator 'self' needs the model's completion function and chat template (opts.self)");
    gen = new SelfQAGenerator(opts.self);
  } else if (/^https?:\/\//i.test(spec)) {
    if (!opts.openai?.model) throw new Error(`QA generator ${spec}: an OpenAI-compatible endpoint needs a model name (opts.openai.model)`);
    gen = new OpenAIQAGenerator({ ...opts.openai, baseUrl: spec });
  } else {
    throw new Error(`unknown QA generator '${spec}': expected 'builtin', 'self' or an http(s):// URL of an OpenAI-compatible endpoint`);
  }
  return opts.cacheDir ? new CachedQAGenerator(gen, opts.cacheDir, { warn: opts.warn }) : gen;
}
