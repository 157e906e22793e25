// `lift ask DIR "question"`: answer from an absorbed document — the adapter plus the document in context,
// middle-truncated (the paper) or reduced to the passages that best match the question (retrieval).
// stdout carries the answer only.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { ask } from '../../lift/ask.js';
import { MANIFEST_FILE, sha256Hex } from '../../adapters/files.js';
import { FormatError } from '../../io/errors.js';
import { loadAdapterForCli, loadModelForCli } from '../model.js';
import { log, numberFlag, out } from '../io.js';

interface AskFlags {
  context: 'truncate' | 'retrieve';
  model?: string;
  adapter: boolean;
  maxTokens: number;
  contextBudget?: number;
  tokenizer?: string;
  json?: boolean;
}

export interface AbsorbedDocument {
  title: string;
  text: string;
  contextBudget: number;
  baseModel: string;
  /** How the adapter was meant to answer (document.json; absent in folders written before presets). */
  answerStop?: 'blank-line' | 'eos';
  bos?: boolean;
}

/** The document and settings `lift absorb` stored beside the adapter; the document must still be the one absorbed. */
export function readAbsorbed(dir: string): AbsorbedDocument {
  const need = [MANIFEST_FILE, 'document.txt', 'document.json'];
  for (const f of need) if (!existsSync(join(dir, f))) throw new Error(`${dir}: not an absorbed document folder (${f} is missing); create one with lift absorb DOC --model M --out ${dir}`);
  const metaFile = join(dir, 'document.json'), manifestFile = join(dir, MANIFEST_FILE), docFile = join(dir, 'document.txt');
  const meta = jsonObject(metaFile), manifest = jsonObject(manifestFile);
  const title = meta.title, budget = meta.context_budget, base = manifest.base_model as Record<string, unknown> | null | undefined;
  if (typeof title !== 'string') throw new FormatError(metaFile, '"title"', 'a string', `got ${JSON.stringify(title)}`);
  if (!Number.isInteger(budget) || (budget as number) < 1) throw new FormatError(metaFile, '"context_budget"', 'a positive integer', `got ${JSON.stringify(budget)}`);
  if (!base || typeof base !== 'object' || typeof base.id !== 'string') throw new FormatError(manifestFile, '"base_model"', 'an object with the base model "id" (a string)', `got ${JSON.stringify(base)}`);
  const bytes = readFileSync(docFile);
  // The adapter learned these exact bytes; answering with an edited document mixes two texts without saying so.
  if (typeof manifest.document_sha256 === 'string' && sha256Hex(bytes) !== manifest.document_sha256)
    throw new FormatError(docFile, 'sha256', `${manifest.document_sha256} (recorded in ${MANIFEST_FILE} when the document was absorbed)`,
      `got ${sha256Hex(bytes)}: the document was changed after absorbing; restore it, or absorb the new text into a new folder`);
  const stop = meta.answer_stop, bos = meta.bos;
  if (stop !== undefined && stop !== 'blank-line' && stop !== 'eos') throw new FormatError(metaFile, '"answer_stop"', '"blank-line" or "eos"', `got ${JSON.stringify(stop)}`);
  if (bos !== undefined && typeof bos !== 'boolean') throw new FormatError(metaFile, '"bos"', 'true or false', `got ${JSON.stringify(bos)}`);
  return { title, text: bytes.toString('utf8'), contextBudget: budget as number, baseModel: base.id, answerStop: stop, bos };
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
    .option('--tokenizer <file>', 'llama2.c tokenizer file');
}

export function register(program: Command): void {
  const cmd = program
    .command('ask')
    .description('Answer a question about a document absorbed with `lift absorb`')
    .argument('<dir>', 'adapter folder written by lift absorb')
    .argument('<question>', 'the question');
  withAnswerOptions(cmd)
    .option('--json', 'print {"question","answer","context"} as JSON')
    .addHelpText('after', `
Examples:
  lift ask book.lift "Who found the key?"
  lift ask book.lift "Who found the key?" --context retrieve
  lift ask book.lift "Who found the key?" --no-adapter      # the truncated-ICL baseline`)
    .action(async (dir: string, question: string, f: AskFlags) => {
      const doc = readAbsorbed(dir);
      const loaded = await loadModelForCli(f.model ?? doc.baseModel, f.tokenizer);
      try {
        const { adapter } = f.adapter ? loadAdapterForCli(dir, loaded) : { adapter: null };
        const t0 = performance.now();
        const answer = await ask(loaded, adapter, question, { title: doc.title, document: doc.text, contextBudget: f.contextBudget ?? doc.contextBudget, context: f.context, maxTokens: f.maxTokens, answerStop: doc.answerStop, bos: doc.bos });
        log(`answered in ${((performance.now() - t0) / 1000).toFixed(2)} s (${f.adapter ? 'LIFT adapter' : 'no adapter'}, context ${f.context})`);
        out(f.json ? JSON.stringify({ question, answer, context: f.context, adapter: f.adapter }) + '\n' : answer + '\n');
        adapter?.dispose();
      } finally {
        loaded.model.dispose();
      }
    });
}
