// absorb()'s sample-building steps, in the order absorb() runs them:
//   tokenizeDocuments  each document's tokens (its title at the head) as one Int32Array, and its segments (views)
//   synthesizeQAs      the auxiliary QAs per document (§3) and their samples (a QA that cannot fit is skipped)
//   trainingStages     the segment samples (contextualized or plain, §2), the answer masks and recitations, and
//                      the two stages: segments; segments + recitations + QAs
// Several documents: each gets its own seed (the first the run's, so one document trains as it did alone).
import type { LoadedModel } from '../model/load.js';
import { segmentViews, type SegmentView } from './segments.js';
import { buildQASamples, int32Arena, segmentSampleSteps, segmentSamplesFromTokens, type Sample } from './samples.js';
import { documentTokenSteps } from './tokens.js';
import { drive, AbortedError } from './pace.js';
import type { QAPair } from './qa/types.js';
import type { Stage, TrainSample } from './trainer.js';
import { answerMask, anchorRowsFor, answerRecitations } from './answers.js';
import type { AbsorbDocument, AbsorbEvent, AbsorbOptions, AbsorbSettings } from './absorb.js';
import { anchorRowsOf } from './anchor.js';

/** One document on its way to samples: its tokens (title at the head), segments, QAs and their samples. */
export interface Prepared {
  doc: AbsorbDocument;
  seed: number;
  docIds: number[];
  docI32: Int32Array;
  /** Index in docIds where the document's own tokens start after the title (tokens.ts), or null. */
  body: number | null;
  segments: SegmentView[];
  qas: QAPair[];
  qaSamples: Sample[];
}

type Phase = Extract<AbsorbEvent, { type: 'progress' }>['phase'];
/** drive()'s options for a long phase: the run's signal, and progress events named by the phase. */
export const phaseProgress = (o: AbsorbOptions, phase: Phase) => ({ phase, signal: o.signal, onProgress: (done: number, total: number) => o.onEvent?.({ type: 'progress', phase, done, total }) });

/** The text a document is tokenized with: its title on the first line (when it has one), then its text. */
export const documentHead = (d: AbsorbDocument): string => (d.title.length > 0 ? `${d.title}\n` : '');

/** Step 1: each document's tokens and segments. Document i's seed is seed + 7919·i. */
export async function tokenizeDocuments(loaded: LoadedModel, docs: readonly AbsorbDocument[], o: AbsorbOptions, s: AbsorbSettings): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  for (const [i, doc] of docs.entries()) {
    const tokenized = await drive(documentTokenSteps(loaded.tokenizer, documentHead(doc), doc.text), phaseProgress(o, 'tokenizing'));
    // Segments are views into one Int32Array copy of the tokens, not 225k arrays on the JS heap (20 MB).
    const docI32 = Int32Array.from(tokenized.ids);
    prepared.push({ doc, seed: s.seed + 7919 * i, docIds: tokenized.ids, docI32, body: tokenized.body, segments: segmentViews(docI32, s.lengths.segmentLength, s.lengths.stride), qas: [], qaSamples: [] });
  }
  return prepared;
}

/** Step 2: per document, the 'prepare' event, its QAs (when there is a generator) and their samples. */
export async function synthesizeQAs(loaded: LoadedModel, prepared: Prepared[], o: AbsorbOptions, s: AbsorbSettings): Promise<void> {
  const { tokenizer: tok } = loaded;
  for (const p of prepared) {
    o.onEvent?.({ type: 'prepare', documentTokens: p.docIds.length, segments: p.segments.length, lengths: s.lengths });
    if (s.qa > 0 && o.qaGenerator) {
      try {
        p.qas = await o.qaGenerator.generate(p.doc.text, s.qa, { seed: p.seed, signal: o.signal, onProgress: (done, total) => o.onEvent?.({ type: 'qa-progress', done, total }) });
      } catch (e) {
        // Generators end an aborted request with the signal's reason (a DOMException): one error for every phase.
        if (o.signal?.aborted && !(e instanceof AbortedError)) throw new AbortedError(undefined, 'synthesizing QAs');
        throw e;
      }
      if (o.signal?.aborted) throw new AbortedError(undefined, 'synthesizing QAs');
      o.onEvent?.({ type: 'qa', generated: p.qas.length, requested: s.qa });
    }
    // A QA whose prompt cannot fit the budget even with no document text is skipped and reported, not fatal.
    // The document's tokens as a continuation are those after the title in docIds when the tokenizer allowed
    // that cut (tokens.ts), so the QA prompts need no tokenization of the whole document each.
    const documentIds = p.body === null || p.qas.length === 0 ? undefined : p.docIds.slice(p.body);
    for (const qa of p.qas) {
      try {
        p.qaSamples.push(...buildQASamples(tok, { title: p.doc.title, document: p.doc.text }, [qa], s.lengths, { bos: s.bos, mode: s.qaContext, documentIds }));
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        o.onEvent?.({ type: 'warning', message: `QA skipped (${e.message}): "${qa.question.slice(0, 60)}"` });
      }
    }
  }
}

export interface TrainingStages {
  stages: Stage[];
  /** Answer recitation samples made (all copies, all documents). */
  recitations: number;
  /** Document tokens where the anchor is lifted (anchorOn 'answers'), or null when it is not. */
  liftedTokens: number | null;
}

/**
 * Step 3: the training samples and their stages. Segment samples are built after the QAs, since under anchorOn
 * 'answers' a recitation's anchor rows skip the document's answer tokens (answers.ts); answer recitations add
 * stage 2 samples with the loss on the answer alone.
 */
export async function trainingStages(loaded: LoadedModel, prepared: Prepared[], o: AbsorbOptions, s: AbsorbSettings): Promise<TrainingStages> {
  const { tokenizer: tok } = loaded;
  // Training samples hold Int32Arrays: half the bytes of number[] (8 per token each), and off the JS heap, so
  // the garbage collector does not rescan hundreds of thousands of arrays (a 20 MB document: 225k samples).
  const take = int32Arena();
  // With the anchor, each sample carries its anchor rows (anchor.ts anchorRowsOf): the anchor mode stops here.
  const anchorOf = (kind: string | undefined, rows?: Float32Array) => (s.anchor > 0 ? anchorRowsOf(s.anchorOn, kind, rows) : undefined);
  const toTrain = (x: Sample, rows?: Float32Array): TrainSample => {
    const t: TrainSample = { input: take(x.input), labels: take(x.labels), kind: x.kind };
    const a = anchorOf(x.kind, rows);
    if (a !== undefined) t.anchorRows = a;
    return t;
  };
  // 'answers': the anchor is lifted where the document holds a QA's answer.
  const lifted = s.anchorOn === 'answers' && s.anchor > 0;
  const nRecite = o.answerRecitations ?? 0;
  const sampleOpts = (seed: number) => ({ seed, contextualized: s.contextualized, bos: s.bos });
  const segTrain: TrainSample[] = [], reciteTrain: TrainSample[] = [];
  let liftedTokens = 0;
  for (const p of prepared) {
    const answers = lifted || nRecite > 0 ? answerMask(tok, p.docIds, p.qas) : null;
    const mask = lifted ? answers : null;
    if (mask) liftedTokens += mask.reduce((a, v) => a + v, 0);
    // A recitation sample of `segment`, with the anchor's rows when it is lifted on the answers.
    const recitation = (x: Sample, segment: SegmentView): TrainSample => toTrain(x, mask ? anchorRowsFor(x, segment, mask) : undefined);
    // Each converted as soon as it is made.
    segTrain.push(...await drive(segmentSampleSteps(tok, p.docI32, p.segments, s.lengths, sampleOpts(p.seed), (x, i) => recitation(x, p.segments[i])), phaseProgress(o, 'building samples')));
    // Answer recitations (answers.ts), seeded apart from the segment samples (seed + 1 + k for copy k).
    for (let k = 0; answers && k < nRecite; k++) {
      const r = answerRecitations(p.docIds, answers, s.lengths.segmentLength, (segs) => segmentSamplesFromTokens(tok, p.docIds, segs, s.lengths, sampleOpts(p.seed + 1 + k)));
      reciteTrain.push(...r.samples.map((x, i) => recitation(x, r.segments[i])));
    }
  }
  const [e1, e2] = s.epochs;
  const stages = [
    { name: 'segments', epochs: e1, samples: segTrain },
    { name: 'segments+qa', epochs: e2, samples: [...segTrain, ...reciteTrain, ...prepared.flatMap((p) => p.qaSamples).map((x) => toTrain(x))] },
  ].filter((st) => st.epochs > 0 && st.samples.length > 0);
  return { stages, recitations: reciteTrain.length, liftedTokens: lifted ? liftedTokens : null };
}
