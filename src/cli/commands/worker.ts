// `lift worker --queue redis://… --model M --store DIR`: runs absorb jobs that `lift serve --queue` queued
// (src/worker/), with checkpoints and adapters in the shared store (the server's --data folder).
import { Command, Option } from 'commander';
import { startWorker, type WorkerOptions } from '../../worker/worker.js';
import { log, numberFlag } from '../io.js';

/** The flags: WorkerOptions with the Redis URL as --queue and the lock in seconds. */
type WorkerFlags = Omit<WorkerOptions, 'url' | 'lockMs' | 'log'> & { queue: string; lockSeconds: number };

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run absorb jobs from a `lift serve --queue` server\'s Redis, on this or any machine that shares its --data folder')
    .requiredOption('--queue <url>', 'the Redis the server queues jobs on (redis://HOST:PORT)')
    .requiredOption('-m, --model <model>', 'base model (the same model as the server\'s, by content; any path or copy)')
    .requiredOption('--store <dir>', 'the shared store: the server\'s --data folder (NFS or similar)')
    .addOption(new Option('--concurrency <n>', 'jobs run at once').default(1).argParser(numberFlag('concurrency', 1, 64, true)))
    .addOption(new Option('--threads <n>', 'threads per job').default(1).argParser(numberFlag('threads', 1, 1024, true)))
    .addOption(new Option('--other-models <what>', 'a job for a model this worker lacks: wait for a worker that has it, or fail it').choices(['wait', 'fail']).default('wait'))
    .addOption(new Option('--lock-seconds <s>', 'a dead worker\'s job is taken over after about this long').default(30).argParser(numberFlag('lock-seconds', 1, 3600)))
    .option('--tokenizer <file>', 'llama2.c tokenizer file')
    .addHelpText('after', `
Examples:
  lift serve  --model stories260K.bin --data /mnt/lift --queue redis://10.0.0.5:6379 --host 0.0.0.0
  lift worker --model stories260K.bin --store /mnt/lift --queue redis://10.0.0.5:6379 --threads 4`)
    .action(async (f: WorkerFlags) => {
      const w = await startWorker({
        url: f.queue, model: f.model, tokenizer: f.tokenizer, store: f.store, concurrency: f.concurrency, threads: f.threads,
        otherModels: f.otherModels, lockMs: Math.round(f.lockSeconds * 1000), log,
      });
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          log(`${sig}: checkpointing the running jobs and handing them back`);
          resolve();
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      await w.close();
      log('lift worker: stopped');
      process.exit(0);
    });
}
