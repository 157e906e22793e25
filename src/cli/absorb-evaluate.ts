// `lift absorb --evaluate [--heldout-text FILE]`: the adapter measured after training, before it is written
// (src/eval/absorbed.ts: recall of the absorb's own trained QAs through `ask`, held-out NLL before and after),
// exactly as the server's `"evaluate": true` does; the figures go into the manifest's metrics and --json.
import { existsSync, readFileSync } from 'node:fs';
import type { LoadedModel } from '../model/load.js';
import type { AbsorbResult } from '../lift/absorb.js';
import { joinDocuments } from '../lift/folder.js';
import { evaluateAbsorbed, type Evaluation } from '../eval/absorbed.js';
import type { AnswerStop } from '../lift/presets.js';
import { FormatError } from '../io/errors.js';
import { log } from './io.js';

/** --heldout-text FILE's text (null without the flag); read before training so a bad file fails at once. */
export function readHeldoutText(file: string | undefined): string | null {
  if (file === undefined) return null;
  if (!existsSync(file)) throw new Error(`--heldout-text: ${file} does not exist`);
  const text = readFileSync(file, 'utf8');
  if (text.trim().length === 0) throw new FormatError(file, '(file)', 'a text whose NLL is measured (--heldout-text)', 'it is empty');
  return text;
}

export async function evaluateForCli(loaded: LoadedModel, r: AbsorbResult, docs: readonly { title: string; text: string }[], o: { answerStop?: AnswerStop; heldoutText: string | null }): Promise<Evaluation> {
  log('evaluating: trained QAs through ask, held-out NLL before and after');
  // What `lift ask OUT` will use: the titles joined, the documents under their titles, the recorded budget.
  const e = await evaluateAbsorbed(loaded, r.adapter, {
    title: docs.map((d) => d.title).join('; '), document: joinDocuments(docs), contextBudget: r.lengths.budget, qas: r.qas,
    answerStop: o.answerStop, bos: typeof r.recipe.bos === 'boolean' ? r.recipe.bos : undefined, heldoutText: o.heldoutText,
  });
  const recall = e.qa_recall === null ? 'no QAs to ask (--qa 0)' : `${e.qa_recall.toFixed(3)} (${e.qa_answered} of ${e.qa_asked} trained QAs answered)`;
  const held = e.heldout_rise === undefined ? `held-out NLL not measured (${e.heldout_source})`
    : `held-out NLL ${e.heldout_nll_before!.toFixed(4)} → ${e.heldout_nll_after!.toFixed(4)} (${e.heldout_rise >= 0 ? '+' : ''}${(100 * e.heldout_rise).toFixed(1)} %, ${e.heldout_tokens} tokens, ${e.heldout_source})`;
  log(`recall of trained QAs ${recall}; ${held}`);
  return e;
}
