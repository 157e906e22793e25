// `lift serve --model M`: an OpenAI-compatible HTTP server where the base model and every absorbed document
// are models (src/server/). Binds 127.0.0.1 unless --host says otherwise; state lives in --data.
import { Command, Option } from 'commander';
import { createServer } from '../../server/app.js';
import { loadModelForCli } from '../model.js';
import { log, numberFlag } from '../io.js';
import { shownUrl } from '../../server/queue/connection.js';

interface ServeFlags {
  model: string;
  host: string;
  port: number;
  data: string;
  trainJobs: number;
  maxBodyMb: number;
  maxGenerations: number;
  maxQueue: number;
  adapterCacheMb: number;
  tokenizer?: string;
  queue?: string;
  maxQueuePerKey?: number;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve the model and every absorbed document over an OpenAI-compatible HTTP API')
    .requiredOption('-m, --model <model>', 'base model: llama2.c .bin, .gguf, Hugging Face folder or org/name')
    .option('--host <host>', 'address to bind (default: loopback only)', '127.0.0.1')
    .addOption(new Option('--port <n>', 'port (0: any free port)').default(8080).argParser(numberFlag('port', 0, 65535, true)))
    .option('--data <dir>', 'folder for the database, adapters and checkpoints', 'lift-data')
    .addOption(new Option('--train-jobs <n>', 'absorb jobs run at once').default(1).argParser(numberFlag('train-jobs', 1, 64, true)))
    .addOption(new Option('--max-body-mb <n>', 'largest request body (documents), in MiB').default(32).argParser(numberFlag('max-body-mb', 1, 4096)))
    .addOption(new Option('--max-generations <n>', 'completions generated at once; more get 429').default(64).argParser(numberFlag('max-generations', 1, 1e6, true)))
    .addOption(new Option('--max-queue <n>', 'documents waiting to be absorbed; more get 429').default(100).argParser(numberFlag('max-queue', 1, 1e6, true)))
    .addOption(new Option('--adapter-cache-mb <n>', 'adapter weights kept loaded, in MiB (least recently used are unloaded)').default(256).argParser(numberFlag('adapter-cache-mb', 1, 1e6)))
    .option('--tokenizer <file>', 'llama2.c tokenizer file')
    .option('--queue <url>', 'run absorb jobs on BullMQ over this Redis (redis://HOST:PORT), taken by `lift worker` processes that share --data as their --store')
    .addOption(new Option('--max-queue-per-key <n>', 'documents one API key may have waiting; more get 429').argParser(numberFlag('max-queue-per-key', 1, 1e6, true)))
    .addHelpText('after', `
Routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions (model = the base model or a document id),
POST/GET /v1/documents, GET/DELETE /v1/documents/{id}, GET /v1/documents/{id}/events (SSE progress).

Examples:
  lift serve --model stories260K.bin --data ./lift-data
  curl -s localhost:8080/v1/documents -H 'content-type: application/json' -d '{"text": "…", "title": "story"}'
  curl -s localhost:8080/v1/chat/completions -H 'content-type: application/json' \\
      -d '{"model": "doc_…", "messages": [{"role": "user", "content": "Who found the key?"}]}'`)
    .action(async (f: ServeFlags) => {
      await runServe(f);
    });
}

async function runServe(f: ServeFlags): Promise<void> {
  const loaded = await loadModelForCli(f.model, f.tokenizer);
  const server = await createServer({
    loaded, modelSpec: f.model, tokenizer: f.tokenizer, data: f.data, trainJobs: f.trainJobs, adapterCacheBytes: f.adapterCacheMb * 2 ** 20,
    limits: { bodyBytes: Math.round(f.maxBodyMb * 2 ** 20), generations: f.maxGenerations, queue: f.maxQueue, queuePerOwner: f.maxQueuePerKey }, queue: f.queue, log,
  });
  const address = await server.app.listen({ host: f.host, port: f.port });
  log(`lift serve: ${server.ctx.baseId} at ${address}/v1 (data in ${server.ctx.paths.root}${f.queue ? `; absorb jobs on ${shownUrl(f.queue)}` : ''})`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log(`${sig}: stopping (unfinished absorbs resume at the next start)`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await server.close();
  loaded.model.dispose();
}
