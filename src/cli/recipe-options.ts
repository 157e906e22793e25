// The recipe flags `lift absorb` and `lift eval` share, declared once: the choices where our defaults and the
// authors' code differ (src/lift/presets.ts; --preset paper sets them all), and the parsers of --epochs and
// --batch-size. Each command adds its own flags around them.
import { Option } from 'commander';
import { numberFlag } from './io.js';

/** The values of presetChoiceOptions' flags (commander's camelCase attributes). */
export interface PresetChoiceFlags {
  qaMaxTokens: number;
  qaAcceptance: 'lenient' | 'exact';
  lossAverage: 'samples' | 'tokens';
  bos: 'model' | 'never';
  gmGateBias: 'attention' | 'none';
  answerStop: 'blank-line' | 'eos';
  warmupScope: 'run' | 'stage';
}

/** The flags of the choices a preset names (defaults: ours; the paper's value in each help). */
export function presetChoiceOptions(): Option[] {
  return [
    new Option('--qa-max-tokens <n>', 'longest QA-synthesis reply of --qa-generator self (paper: 1024)').default(200).argParser(numberFlag('qa-max-tokens', 1, 1e6, true)),
    new Option('--qa-acceptance <how>', "a QA's evidence: each line in the window after normalising spaces, a retry on a new window ('lenient'), or the whole evidence verbatim, retries on the same window ('exact', the paper)").choices(['lenient', 'exact']).default('lenient'),
    new Option('--loss-average <how>', "average token losses per sample, every sample weighing the same ('samples'), or over all tokens of the batch ('tokens', the paper's code)").choices(['samples', 'tokens']).default('samples'),
    new Option('--bos <when>', "BOS before training samples and answer prompts: the model's convention, or never (the paper's code)").choices(['model', 'never']).default('model'),
    new Option('--gm-gate-bias <b>', "Gated Memory gate output bias on models with attention biases ('attention') or never ('none', the paper's code)").choices(['attention', 'none']).default('attention'),
    new Option('--answer-stop <how>', 'answers stop at a blank line and are trimmed, or are the raw output to EOS (the paper)').choices(['blank-line', 'eos']).default('blank-line'),
    new Option('--warmup-scope <s>', "one warm-up per run, or transformers' per stage from lr 0 (the paper's code)").choices(['run', 'stage']).default('run'),
  ];
}

/** --epochs a,b: epochs of stage 1 and stage 2, at least one in all. */
export function parseEpochs(s: string): [number, number] {
  const m = /^(\d+),(\d+)$/.exec(s);
  if (!m) throw new Error(`--epochs: expected two integers like 3,5, got "${s}"`);
  if (Number(m[1]) + Number(m[2]) === 0) throw new Error(`--epochs: expected at least one epoch in all, got "${s}" (an untrained adapter answers like the base model)`);
  return [Number(m[1]), Number(m[2])];
}

/** --batch-size n|full. */
export function parseBatch(s: string): number | 'full' {
  if (s === 'full') return s;
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--batch-size: expected a positive integer or 'full', got "${s}"`);
  return n;
}
