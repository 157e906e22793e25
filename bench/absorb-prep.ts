// `npm run bench -- absorb --prepare [--mb 1,5,20] [--json]`: what happens before the first training step on
// long documents — stories260K with the paper's defaults (budget 512: segments 128, stride 48, CT context 256;
// 10 builtin QAs; full batch), TinyStories and Paul Graham essays repeated with varied part headers to the
// size. Each size runs in its own child process (peak RSS is per process) and is stopped with the AbortSignal
// at the trainer's 'start' event, after the fingerprint of every sample. Columns: seconds to the first plan
// line and to the exact one, each phase's seconds (tokenize: the exact plan after the first; qa: builtin QA
// synthesis; samples: building them and the trainer's fingerprint of them), the whole preparation, peak RSS,
// and both per MB: flat per-MB columns mean preparation grows linearly with the document.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../src/engine/index.js';
import { loadModelFromPath } from '../src/model/load.js';
import { absorb, type AbsorbEvent } from '../src/lift/absorb.js';
import { AbortedError } from '../src/lift/trainer.js';
import { BuiltinQAGenerator } from '../src/lift/qa/builtin.js';
import { rngFor, shuffled } from '../src/lift/rng.js';
import { Output, log, type BenchArgs } from './util.js';

const SHARED = process.env.LIFT_SHARED ?? join(process.cwd(), '..', 'shared');

/** `mb` megabytes of English: the shared stories and essays in paragraphs, each copy shuffled and headed apart. */
export function longDocument(mb: number): string {
  const essays = join(SHARED, 'data', 'niah-paulgraham-essays');
  const texts = [readFileSync(join(SHARED, 'data', 'tinystories-valid-sample', 'tinystories_val.txt'), 'utf8'),
    ...readdirSync(essays).filter((f) => f.endsWith('.txt')).sort().map((f) => readFileSync(join(essays, f), 'utf8'))];
  const paragraphs = texts.join('\n\n').split(/\n\s*\n/).filter((p) => p.trim());
  const parts: string[] = [];
  let n = 0;
  for (let k = 0; n < mb * 1e6; k++) {
    const part = `Part ${k + 1}.\n\n${shuffled(rngFor(k, 3), paragraphs).join('\n\n')}`;
    parts.push(part);
    n += part.length + 2;
  }
  return parts.join('\n\n').slice(0, mb * 1e6);
}

export async function benchPrepare(args: BenchArgs): Promise<void> {
  const one = args.flags.get('prepare-one');
  if (one) return prepareOne(Number(one));
  const out = new Output(args.json);
  for (const mb of (args.flags.get('mb') ?? '1,5,20').split(',').map(Number)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/main.ts', 'absorb', '--prepare-one', String(mb)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`absorb --prepare-one ${mb} failed:\n${r.stderr}`);
    out.emit(JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>);
    log(`  ${mb} MB done`);
  }
  out.table(['mb', 'doc_tokens', 'segments', 'first_plan_s', 'exact_plan_s', 'tokenize_s', 'samples_s', 'qa_s', 'prepare_s', 'prepare_s_per_mb', 'peak_rss_mb', 'peak_rss_mb_per_mb', 'plan_train_h']);
}

async function prepareOne(mb: number): Promise<void> {
  native.setThreads(2);
  const text = longDocument(mb);
  const loaded = loadModelFromPath(join(SHARED, 'models', 'stories260K', 'stories260K.bin'));
  const ac = new AbortController();
  const t0 = performance.now();
  const at: Record<string, number> = {};
  const mark = (k: string): void => void (at[k] ??= (performance.now() - t0) / 1000);
  let plan: Extract<AbsorbEvent, { type: 'plan' }> | null = null;
  const onEvent = (e: AbsorbEvent): void => {
    if (e.type === 'plan') { mark(e.estimated ? 'first_plan' : 'exact_plan'); if (!e.estimated) plan = e; mark('first_plan'); }
    else if (e.type === 'progress') mark(`start:${e.phase}`);
    else if (e.type === 'prepare') mark('tokenized');
    else if (e.type === 'qa-progress') mark('start:qa');
    else if (e.type === 'qa') mark('qa');
    else if (e.type === 'train' && e.event.type === 'start') { mark('train'); ac.abort(); }
  };
  try {
    await absorb(loaded, { title: 'Stories and essays', text }, { qa: 10, qaGenerator: new BuiltinQAGenerator(), seed: 1, signal: ac.signal, onEvent });
    throw new Error('absorb was not stopped at the start of training');
  } catch (e) {
    if (!(e instanceof AbortedError)) throw e;
  }
  const p = plan as Extract<AbsorbEvent, { type: 'plan' }> | null;
  if (!p) throw new Error('no plan event');
  const prepare = at.train;
  const peak = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({
    bench: 'absorb-prepare', model: 'stories260K', mb, chars: text.length, doc_tokens: p.documentTokens, segments: p.segments, samples: p.samples, steps: p.steps,
    first_plan_s: at.first_plan, exact_plan_s: at.exact_plan, tokenize_s: at.tokenized - at.first_plan,
    qa_s: at.qa - at.tokenized, samples_s: at.train - at.qa,
    prepare_s: prepare, prepare_s_per_mb: prepare / mb, peak_rss_mb: peak, peak_rss_mb_per_mb: peak / mb,
    plan_train_h: p.seconds / 3600, plan_memory_mb: p.memoryBytes / 2 ** 20,
  }) + '\n');
  loaded.model.dispose();
}
