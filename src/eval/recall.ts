// Recall of planted facts (the recall benchmark and the demo): each probe is the document middle-truncated to
// the context budget — which cuts the planted facts away — followed by the fact's prompt ("Lily's dog was
// called"); a probe is answered when the greedy continuation starts with the answer word. Run with and
// without the adapter on the same prompts.
import type { LoadedModel } from '../model/load.js';
import type { AdapterHooks } from '../model/llama.js';
import { generateText } from '../model/generate.js';
import { middleTruncate } from '../lift/truncate.js';
import { encodeAfter } from '../lift/tokens.js';
import type { PlantedFact } from './datasets/planted.js';

export interface RecallItem {
  prompt: string;
  answer: string;
  prediction: string;
  correct: boolean;
}

/** Token ids of one probe: [BOS] + middle-truncated document + "\n\n" + fact prompt, within `budget` tokens. */
export function recallPrompt(loaded: LoadedModel, document: string, fact: PlantedFact, budget: number): number[] {
  const tok = loaded.tokenizer;
  const bos = loaded.addBos && tok.bosId !== null ? [tok.bosId] : [];
  const tail = encodeAfter(tok, `\n\n${fact.prompt}`);
  const doc = encodeAfter(tok, document);
  const room = budget - bos.length - tail.length - 8; // 8 tokens left for the answer
  return [...bos, ...middleTruncate(doc, room, encodeAfter(tok, '...')), ...tail];
}

export async function recall(loaded: LoadedModel, adapter: AdapterHooks | null, document: string, facts: PlantedFact[], budget: number): Promise<{ accuracy: number; items: RecallItem[] }> {
  const items: RecallItem[] = [];
  for (const f of facts) {
    const prediction = await generateText(loaded.model, loaded.tokenizer, recallPrompt(loaded, document, f, budget), { temperature: 0, maxTokens: 6, adapter });
    items.push({ prompt: f.prompt, answer: f.answer, prediction, correct: prediction.trim().toLowerCase().startsWith(f.answer.toLowerCase()) });
  }
  return { accuracy: items.filter((i) => i.correct).length / Math.max(1, items.length), items };
}
