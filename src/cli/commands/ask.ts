// `lift ask DIR "question"`: answer from an absorbed document — the adapter plus the document in context,
// middle-truncated (the paper) or reduced to the passages that best match the question (retrieval).
// stdout carries the answer only.
import { Command, Option } from 'commander';
import { ask } from '../../lift/ask.js';
import { readAbsorbed, readAbsorbedAll } from '../../lift/folder.js';
import type { Adapter } from '../../adapters/files.js';
import type { LoadedModel } from '../../model/load.js';
import { computeOption, loadAdapterForCli, loadModelForCli, type ComputeMode } from '../model.js';
import { adapterList, combineAdapters } from '../../adapters/combine.js';
import { AdapterRouter } from '../../adapters/route.js';
import { expandParts, isPartsFolder } from '../../lift/parts-folder.js';
import type { AdapterHooks } from '../../model/llama.js';
import { log, numberFlag, out } from '../io.js';

/** The values of withAnswerOptions' flags, which `ask` and `chat` share. */
export interface AnswerFlags {
  context: 'truncate' | 'retrieve';
  model?: string;
  /** true: DIR's adapter; false (--no-adapter): none; a string (--adapter a,b): those folders' adapters combined. */
  adapter: boolean | string;
  maxTokens: number;
  contextBudget?: number;
  tokenizer?: string;
  /** --compute: fp32, bf16 or auto (src/model/compute.ts). */
  compute?: ComputeMode;
  /** --combine: how several --adapter folders apply. */
  combine: CombineMode;
}

interface AskFlags extends AnswerFlags {
  json?: boolean;
}

/** How several --adapter folders apply: one per request, chosen (src/adapters/route.ts), or all at once (LoRA sum). */
export type CombineMode = 'route' | 'sum';

/** --combine, shared by ask, chat and generate. */
export function combineOption(): Option {
  return new Option('--combine <how>', 'with several --adapter folders: route = each request through the one adapter under which it is likeliest; sum = LoRA deltas added (the adapters interfere: docs/recall.md)')
    .choices(['route', 'sum']).default('route');
}

/** Words for a log line: what the adapters of `dirs` do together. */
export function adaptersInWords(given: readonly string[], how: CombineMode = 'route'): string {
  const dirs = expandParts(given);
  return dirs.length > 1 ? `${dirs.length} LIFT adapters ${how === 'sum' ? 'summed' : 'routed'}` : 'LIFT adapter';
}

/**
 * Adapter folders loaded onto one base: with `how` 'route' (default) a router applies one per request, the one
 * under which the request is likeliest (any kind; src/adapters/route.ts); with 'sum' all at once (LoRA: the sum of
 * their deltas; Gated Memory is refused with the reason, src/adapters/combine.ts). Each folder is checked against
 * the base as when alone.
 */
export function loadAdaptersForCli(dirs: readonly string[], loaded: LoadedModel, how: CombineMode = 'route'): AdapterHooks & { dispose(): void } {
  const adapters: Adapter[] = [];
  // A document absorbed in parts (lift absorb --parts) is its part adapters, routed.
  const all = expandParts(dirs);
  if (how === 'sum' && all.length !== dirs.length) throw new Error(`--combine sum: ${dirs.filter(isPartsFolder).join(', ')} holds a document absorbed in parts, whose adapters are routed, never summed; use --combine route`);
  try {
    for (const d of all) adapters.push(loadAdapterForCli(d, loaded).adapter);
    // One document absorbed in parts: each part answers with its own text in context (lift/ask.ts), the context
    // it was trained with. Several folders share the documents' joined context, as measured for separate documents.
    const contexts = dirs.length === 1 && isPartsFolder(dirs[0]) ? all.map((d) => readAbsorbed(d).text) : undefined;
    if (how === 'route' && adapters.length > 1) return new AdapterRouter(loaded.model, adapters, all, contexts);
    return combineAdapters(adapters, all);
  } catch (e) {
    for (const a of adapters) a.dispose();
    throw e;
  }
}

/** The options `ask` and `chat` share: how the answer's context, model and length are chosen. */
export function withAnswerOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--context <mode>', 'document context in the prompt').choices(['truncate', 'retrieve']).default('truncate'))
    .option('-m, --model <model>', 'base model (default: the one recorded in the adapter manifest)')
    .option('--no-adapter', 'answer with the base model only (the truncated-ICL baseline)')
    .addOption(new Option('--max-tokens <n>', 'longest answer').default(200).argParser(numberFlag('max-tokens', 1, 100000, true)))
    .addOption(new Option('--context-budget <n>', 'override the budget recorded at absorb time').argParser(numberFlag('context-budget', 16, 1e7, true)))
    .option('--tokenizer <file>', 'llama2.c tokenizer file')
    .addOption(computeOption())
    .addOption(combineOption());
}

export function register(program: Command): void {
  const cmd = program
    .command('ask')
    .description('Answer a question about a document absorbed with `lift absorb`')
    .argument('<dir>', 'adapter folder written by lift absorb')
    .argument('<question>', 'the question');
  withAnswerOptions(cmd)
    .option('--adapter <dirs>', 'use these adapter folders instead of DIR\'s (routed per question, or summed: --combine); the context holds the documents of DIR and of every listed absorbed folder')
    .option('--json', 'print {"question","answer","context"} as JSON')
    .addHelpText('after', `
Examples:
  lift ask book.lift "Who found the key?"
  lift ask book.lift "Who found the key?" --context retrieve
  lift ask book.lift "Who found the key?" --no-adapter      # the truncated-ICL baseline
  lift ask a.lift "Who found the key?" --adapter a.lift,b.lift --context retrieve   # two adapters (routed), both documents`)
    .action(async (dir: string, question: string, f: AskFlags) => {
      const dirs = typeof f.adapter === 'string' ? adapterList(f.adapter) : [dir];
      const doc = readAbsorbedAll(dir, dirs);
      const loaded = await loadModelForCli(f.model ?? doc.baseModel, f.tokenizer, f.compute);
      try {
        const adapter = f.adapter === false ? null : loadAdaptersForCli(dirs, loaded, f.combine);
        const t0 = performance.now();
        const answer = await ask(loaded, adapter, question, { title: doc.title, document: doc.text, contextBudget: f.contextBudget ?? doc.contextBudget, context: f.context, maxTokens: f.maxTokens, answerStop: doc.answerStop, bos: doc.bos });
        log(`answered in ${((performance.now() - t0) / 1000).toFixed(2)} s (${f.adapter === false ? 'no adapter' : adaptersInWords(dirs, f.combine)}, context ${f.context})`);
        adapter?.dispose();
        // An empty answer is not an answer: the first token ended it (end of text, or a blank line under
        // answer_stop "blank-line"). Exit non-zero so a script never takes "" for the document's answer.
        if (answer.trim() === '') throw new Error(`no answer: the model's first token ended the answer (end of text or a blank line) — ask in other words, try --context retrieve, or absorb with more epochs`);
        out(f.json ? JSON.stringify({ question, answer, context: f.context, adapter: f.adapter !== false, ...(typeof f.adapter === 'string' ? { adapters: dirs, combine: f.combine } : {}) }) + '\n' : answer + '\n');
      } finally {
        loaded.model.dispose();
      }
    });
}
