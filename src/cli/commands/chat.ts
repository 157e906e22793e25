// `lift chat DIR [--adapter a,b]`: an interactive session over a document absorbed with `lift absorb`. Each line read is a
// question answered like `lift ask` (adapter + document context), streamed as it is generated. The model and
// adapter are loaded once, so follow-up questions cost only generation.
//   terminal: a "> " prompt; `/quit` or Ctrl-D ends; Ctrl-C stops the answer being written, or exits at the prompt.
//   piped stdin: no prompt, one answer per output line (newlines inside an answer become spaces), so
//                `printf 'q1\nq2\n' | lift chat book.lift` is scriptable; SIGINT stops the current answer.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ask } from '../../lift/ask.js';
import { loadModelForCli } from '../model.js';
import { adaptersInWords, loadAdaptersForCli, withAnswerOptions, type AnswerFlags } from './ask.js';
import { readAbsorbedAll } from '../../lift/folder.js';
import { adapterList } from '../../adapters/combine.js';
import { log, out } from '../io.js';

type ChatFlags = AnswerFlags;

export function register(program: Command): void {
  withAnswerOptions(program
    .command('chat')
    .description('Ask questions about an absorbed document interactively, one per line (streamed answers)')
    .argument('<dir>', 'adapter folder written by lift absorb'))
    .option('--adapter <dirs>', 'use these adapter folders instead of DIR\'s (routed per question, or summed: --combine); the context holds the documents of DIR and of every listed absorbed folder')
    .addHelpText('after', `
Type a question and press Enter; /quit or Ctrl-D ends the session. Ctrl-C stops an answer being written,
or exits at the prompt. With stdin piped, every input line gets exactly one output line.

Examples:
  lift chat book.lift
  lift chat book.lift --context retrieve --model ./SmolLM2-135M
  lift chat a.lift --adapter a.lift,b.lift     # two adapters, each question through the likelier; both documents in context
  printf 'Who found the key?\\nWhere was it?\\n' | lift chat book.lift > answers.txt`)
    .action(async (dir: string, f: ChatFlags) => {
      await runChat(dir, f);
    });
}

async function runChat(dir: string, f: ChatFlags): Promise<void> {
  // As `lift ask`: --adapter a,b applies those folders' adapters together over DIR's and their documents.
  const dirs = typeof f.adapter === 'string' ? adapterList(f.adapter) : [dir];
  const doc = readAbsorbedAll(dir, dirs);
  const loaded = await loadModelForCli(f.model ?? doc.baseModel, f.tokenizer, f.compute);
  let adapter: ReturnType<typeof loadAdaptersForCli> | null;
  try {
    adapter = f.adapter === false ? null : loadAdaptersForCli(dirs, loaded, f.combine);
  } catch (e) {
    loaded.model.dispose(); // e.g. an adapter made for another base model: free the weights before failing
    throw e;
  }
  const interactive = Boolean(process.stdin.isTTY);
  // Only a terminal gets echo, line editing and a prompt; piped input is read as plain lines.
  const rl = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive, prompt: '> ' });
  let answering: AbortController | null = null;
  let quit = false;
  const onInterrupt = (): void => {
    if (answering) answering.abort(); // stop this answer; the session goes on
    else if (!quit) {
      quit = true;
      if (interactive) out('\n');
      rl.close(); // at the prompt: end the session (the loop below sees the end of input)
    }
  };
  // A terminal's Ctrl-C reaches readline (raw mode) as its 'SIGINT' event; `kill -INT` reaches the process.
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  log(`chat over "${doc.title}" (${loaded.id}, ${adapter ? adaptersInWords(dirs, f.combine) : 'no adapter'}, context ${f.context})${interactive ? '; /quit or Ctrl-D ends' : ''}`);
  let n = 0;
  try {
    if (interactive) rl.prompt();
    for await (const raw of rl) {
      const question = raw.trim();
      if (question === '/quit' || question === '/exit') break;
      if (question.length === 0) {
        // A blank line still gets its (empty) output line when piped, keeping input and output lines aligned.
        if (!interactive) out('\n');
        else rl.prompt();
        continue;
      }
      answering = new AbortController();
      let started = false;
      const t0 = performance.now();
      try {
        await ask(loaded, adapter, question, {
          title: doc.title, document: doc.text, contextBudget: f.contextBudget ?? doc.contextBudget, context: f.context,
          maxTokens: f.maxTokens, signal: answering.signal, answerStop: doc.answerStop, bos: doc.bos,
          onToken: (t) => {
            // ask() trims its result; trim the stream's start the same way, and keep piped answers on one line.
            let s = interactive ? t : t.replace(/\s*\n\s*/g, ' ');
            if (!started) s = s.trimStart();
            if (s.length > 0) started = true;
            out(s);
          },
        });
      } catch (e) {
        // One bad question (e.g. too long for the budget) must not end the session.
        log(`lift: ${(e as Error).message}`);
      }
      out('\n');
      n++;
      if (answering.signal.aborted) log('(answer interrupted)');
      else if (process.env.LIFT_DEBUG) log(`answered in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      answering = null;
      // Not rl's 'close': that fires at the end of piped input while lines are still queued for this loop.
      if (quit) break;
      if (interactive) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
    adapter?.dispose();
    loaded.model.dispose();
  }
  log(`${n} question${n === 1 ? '' : 's'} answered`);
}
