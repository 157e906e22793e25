// Job priority on the embedded engine (`lift serve` without --queue): a higher-priority document posted later
// runs before the unprioritized ones posted earlier, and the priorities are stored with the documents, so a
// server killed with SIGKILL and started again keeps the order (in memory only, it would run them in posting
// order).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { buildOnce, MODEL_BIN, storyDocument, tempDir } from '../cli/helpers.js';
import { http, modelSkip, sseData, startServer, until, type RunningServer } from './helpers.js';

const RECIPE = { adapter: 'lora', lora_rank: 2, epochs: [1, 0], qa: 0, batch_size: 4, context_budget: 96 };

describe('lift serve: job priority (embedded engine)', { skip: modelSkip() }, () => {
  let tmp: ReturnType<typeof tempDir>, server: RunningServer | null = null;
  before(() => {
    buildOnce();
    tmp = tempDir();
  });
  after(async () => {
    await server?.kill();
    tmp?.cleanup();
  });

  it('a prioritized document posted later runs first, and the order survives a SIGKILL restart', async () => {
    const dir = join(tmp.dir, 'data');
    const post = async (text: string, title: string, priority?: number): Promise<string> => {
      const r = await http(`${server!.url}/v1/documents`, 'POST', { text, title, recipe: RECIPE, ...(priority ? { priority } : {}) });
      assert.equal(r.status, 202, r.text);
      return r.json.id;
    };
    server = await startServer(['--model', MODEL_BIN, '--data', dir, '--train-jobs', '1']);
    // A takes the only slot; B (unset) and C (priority 1) wait. The server is killed before any finishes.
    const a = await post(storyDocument(10, 1), 'A');
    const b = await post(storyDocument(10, 2), 'B');
    const c = await post(storyDocument(30, 3), 'C', 1); // longer: still running when E is posted below
    await server.kill();

    server = await startServer(['--model', MODEL_BIN, '--data', dir, '--train-jobs', '1']);
    const jobs = (await http(`${server.url}/v1/jobs`, 'GET')).json.data as { id: string; priority: number }[];
    assert.deepEqual(Object.fromEntries(jobs.map((j) => [j.id, j.priority])), { [a]: 0, [b]: 0, [c]: 1 });
    // C runs first after the restart; E (priority 2), posted while C runs, goes before A and B.
    await until(async () => {
      const d = (await http(`${server!.url}/v1/documents/${c}`, 'GET')).json;
      assert.notEqual(d.status, 'ready', 'C finished before E was posted: make C longer');
      return d.status === 'running' ? true : undefined;
    }, 180_000, 'C running');
    const e = await post(storyDocument(10, 5), 'E', 2);
    const ids = [a, b, c, e];
    await until(async () => {
      const docs = await Promise.all(ids.map(async (id) => (await http(`${server!.url}/v1/documents/${id}`, 'GET')).json));
      for (const d of docs) assert.notEqual(d.status, 'failed', d.error);
      return docs.every((d) => d.status === 'ready') ? true : undefined;
    }, 600_000, 'all four documents ready');
    // When each started its (last) run: the time of its last "running" status event.
    const startedAt = new Map<string, number>();
    for (const id of ids) {
      const events = (await sseData(`${server.url}/v1/documents/${id}/events`)).map((l) => JSON.parse(l));
      startedAt.set(id, events.filter((x) => x.type === 'status' && x.status === 'running').at(-1).at);
    }
    const name = new Map([[a, 'A'], [b, 'B'], [c, 'C'], [e, 'E']]);
    assert.deepEqual([...ids].sort((x, y) => startedAt.get(x)! - startedAt.get(y)!).map((id) => name.get(id)), ['C', 'E', 'A', 'B']);
    await server.stop();
    server = null;
  });
});
