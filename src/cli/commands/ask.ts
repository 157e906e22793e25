// `lift ask DIR "question"`: answer from an absorbed document — the adapter plus the document in context,
// middle-truncated (the paper) or reduced to the passages that best match the question (retrieval).
// stdout carries the answer only.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ask } from '../../lift/ask.js';
import { joinDocuments, readFolderDocuments, type FolderDocument } from '../../lift/folder.js';
import { MANIFEST_FILE, type Adapter } from '../../adapters/files.js';
import type { LoadedModel } from '../../model/load.js';
import { FormatError } from '../../io/errors.js';
import { computeOption, loadAdapterForCli, loadModelForCli, type ComputeMode } from '../model.js';
import { adapterList, combineAdapters } from '../../adapters/combine.js';
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
}

interface AskFlags extends AnswerFlags {
  json?: boolean;
}

export interface AbsorbedDocument {
  title: string;
  /** The document, or several joined under their titles (joinDocuments). */
  text: string;
  documents: FolderDocument[];
  contextBudget: number;
  baseModel: string;
  /** How the adapter was meant to answer (document.json; absent in folders written before presets). */
  answerStop?: 'blank-line' | 'eos';
  bos?: boolean;
}

/**
 * The document(s) and settings `lift absorb` stored beside the adapter (src/lift/folder.ts: document.txt, or
 * documents/NN.txt listed in document.json); each must still be the one absorbed. Several documents come
 * back joined under their titles (`text`) and one by one (`documents`).
 */
export function readAbsorbed(dir: string): AbsorbedDocument {
  for (const f of [MANIFEST_FILE, 'document.json']) if (!existsSync(join(dir, f))) throw new Error(`${dir}: not an absorbed document folder (${f} is missing); create one with lift absorb DOC --model M --out ${dir}`);
  const metaFile = join(dir, 'document.json'), manifestFile = join(dir, MANIFEST_FILE);
  const meta = jsonObject(metaFile), manifest = jsonObject(manifestFile);
  const title = meta.title, budget = meta.context_budget, base = manifest.base_model as Record<string, unknown> | null | undefined;
  if (typeof title !== 'string') throw new FormatError(metaFile, '"title"', 'a string', `got ${JSON.stringify(title)}`);
  if (!Number.isInteger(budget) || (budget as number) < 1) throw new FormatError(metaFile, '"context_budget"', 'a positive integer', `got ${JSON.stringify(budget)}`);
  if (!base || typeof base !== 'object' || typeof base.id !== 'string') throw new FormatError(manifestFile, '"base_model"', 'an object with the base model "id" (a string)', `got ${JSON.stringify(base)}`);
  const documents = readFolderDocuments(dir, meta, typeof manifest.document_sha256 === 'string' ? manifest.document_sha256 : null, MANIFEST_FILE);
  const stop = meta.answer_stop, bos = meta.bos;
  if (stop !== undefined && stop !== 'blank-line' && stop !== 'eos') throw new FormatError(metaFile, '"answer_stop"', '"blank-line" or "eos"', `got ${JSON.stringify(stop)}`);
  if (bos !== undefined && typeof bos !== 'boolean') throw new FormatError(metaFile, '"bos"', 'true or false', `got ${JSON.stringify(bos)}`);
  return { title, text: joinDocuments(documents), documents, contextBudget: budget as number, baseModel: base.id, answerStop: stop, bos };
}

/**
 * DIR's documents and those of the other absorbed folders in `dirs` (--adapter a,b): one context, in that
 * order, each folder once. Folders without document.json (an adapter alone) add no document.
 */
export function readAbsorbedAll(dir: string, dirs: readonly string[]): AbsorbedDocument {
  const seen = new Set([resolve(dir)]);
  const more = dirs.filter((d) => !seen.has(resolve(d)) && (seen.add(resolve(d)), existsSync(join(d, 'document.json')))).map(readAbsorbed);
  return joinAbsorbed([readAbsorbed(dir), ...more]);
}

/**
 * Several absorbed documents as one context (what `--adapter a,b` and the server's `model: "a+b"` answer from):
 * their documents joined under their titles, the titles joined by "; ", the first one's budget and answer settings.
 */
export function joinAbsorbed(all: readonly AbsorbedDocument[]): AbsorbedDocument {
  if (all.length === 1) return all[0];
  const documents = all.flatMap((d) => d.documents);
  return { ...all[0], title: documents.map((d) => d.title).join('; '), text: joinDocuments(documents), documents };
}

/**
 * Adapter folders loaded onto one base and applied together (LoRA: the sum of their deltas; Gated Memory is
 * refused with the reason, src/adapters/combine.ts). Each folder is checked against the base as when alone.
 */
export function loadAdaptersForCli(dirs: readonly string[], loaded: LoadedModel): AdapterHooks & { dispose(): void } {
  const adapters: Adapter[] = [];
  try {
    for (const d of dirs) adapters.push(loadAdapterForCli(d, loaded).adapter);
    return combineAdapters(adapters, dirs);
  } catch (e) {
    for (const a of adapters) a.dispose();
    throw e;
  }
}

function jsonObject(file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FormatError(file, 'JSON', 'valid JSON', `got ${(e as Error).message.slice(0, 120)}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(file, 'JSON', 'an object', `got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Record<string, unknown>;
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
    .addOption(computeOption());
}

export function register(program: Command): void {
  const cmd = program
    .command('ask')
    .description('Answer a question about a document absorbed with `lift absorb`')
    .argument('<dir>', 'adapter folder written by lift absorb')
    .argument('<question>', 'the question');
  withAnswerOptions(cmd)
    .option('--adapter <dirs>', 'apply these adapter folders together instead of DIR\'s (LoRA only: the sum of their deltas); the context holds the documents of DIR and of every listed absorbed folder')
    .option('--json', 'print {"question","answer","context"} as JSON')
    .addHelpText('after', `
Examples:
  lift ask book.lift "Who found the key?"
  lift ask book.lift "Who found the key?" --context retrieve
  lift ask book.lift "Who found the key?" --no-adapter      # the truncated-ICL baseline
  lift ask a.lift "Who found the key?" --adapter a.lift,b.lift --context retrieve   # two LoRA adapters, both documents`)
    .action(async (dir: string, question: string, f: AskFlags) => {
      const dirs = typeof f.adapter === 'string' ? adapterList(f.adapter) : [dir];
      const doc = readAbsorbedAll(dir, dirs);
      const loaded = await loadModelForCli(f.model ?? doc.baseModel, f.tokenizer, f.compute);
      try {
        const adapter = f.adapter === false ? null : loadAdaptersForCli(dirs, loaded);
        const t0 = performance.now();
        const answer = await ask(loaded, adapter, question, { title: doc.title, document: doc.text, contextBudget: f.contextBudget ?? doc.contextBudget, context: f.context, maxTokens: f.maxTokens, answerStop: doc.answerStop, bos: doc.bos });
        log(`answered in ${((performance.now() - t0) / 1000).toFixed(2)} s (${f.adapter === false ? 'no adapter' : dirs.length > 1 ? `${dirs.length} LIFT adapters combined` : 'LIFT adapter'}, context ${f.context})`);
        adapter?.dispose();
        // An empty answer is not an answer: the first token ended it (end of text, or a blank line under
        // answer_stop "blank-line"). Exit non-zero so a script never takes "" for the document's answer.
        if (answer.trim() === '') throw new Error(`no answer: the model's first token ended the answer (end of text or a blank line) — ask in other words, try --context retrieve, or absorb with more epochs`);
        out(f.json ? JSON.stringify({ question, answer, context: f.context, adapter: f.adapter !== false, ...(typeof f.adapter === 'string' ? { adapters: dirs } : {}) }) + '\n' : answer + '\n');
      } finally {
        loaded.model.dispose();
      }
    });
}
