// `lift keys create|list|revoke --data DIR`: API keys of a `lift serve` data folder. A key is printed once, when
// created, and stored only as its SHA-256. With at least one active key the server requires
// `Authorization: Bearer <key>` on every route; each document belongs to the key that posted it (an --admin key
// sees all). Changes apply to a running server at once (it reads the database per request).
import type { Command } from 'commander';
import { Store } from '../../server/store.js';
import { dataPaths } from '../../server/paths.js';
import { createKey } from '../../server/auth.js';
import { log, out } from '../io.js';

const withStore = <T>(data: string, f: (s: Store) => T): T => {
  const s = new Store(dataPaths(data).db);
  try {
    return f(s);
  } finally {
    s.close();
  }
};

export function register(program: Command): void {
  const keys = program.command('keys').description('Manage the API keys of a `lift serve` data folder').addHelpText('after', `
With no keys the server is open to whoever can reach it (it binds 127.0.0.1 by default). Once a key exists, every
route needs "Authorization: Bearer KEY"; a document belongs to the key that created it; admin keys see all.

Examples:
  lift keys create alice --data lift-data
  lift keys create ops --admin --data lift-data
  lift keys list --data lift-data
  lift keys revoke alice --data lift-data`);
  keys
    .command('create')
    .description('Create a key and print it (shown only once)')
    .argument('<name>', 'a name for the key (letters, digits, . _ @ -)')
    .option('--data <dir>', 'the server\'s data folder', 'lift-data')
    .option('--admin', 'the key sees and manages every document')
    .action((name: string, f: { data: string; admin?: boolean }) => {
      const { key, row } = withStore(f.data, (s) => createKey(s, name, f.admin ?? false));
      log(`created ${row.admin ? 'admin ' : ''}key ${row.id} "${row.name}"; it is shown only now:`);
      out(key + '\n');
    });
  keys
    .command('list')
    .description('List keys (never the keys themselves)')
    .option('--data <dir>', 'the server\'s data folder', 'lift-data')
    .option('--json', 'print JSON')
    .action((f: { data: string; json?: boolean }) => {
      const rows = withStore(f.data, (s) => s.listKeys());
      if (f.json) return out(JSON.stringify(rows) + '\n');
      for (const k of rows) out(`${k.id}\t${k.name}\t${k.admin ? 'admin' : 'user'}\t${new Date(k.created_at).toISOString()}\t${k.revoked_at ? `revoked ${new Date(k.revoked_at).toISOString()}` : 'active'}\n`);
      if (rows.length === 0) log('no keys: the server is open to anyone who can reach it');
    });
  keys
    .command('revoke')
    .description('Revoke a key by its id or name')
    .argument('<key>', 'key id (key_…) or name')
    .option('--data <dir>', 'the server\'s data folder', 'lift-data')
    .action((which: string, f: { data: string }) => {
      if (!withStore(f.data, (s) => s.revokeKey(which))) throw new Error(`no active key with id or name ${JSON.stringify(which)}; lift keys list --data ${f.data} shows them`);
      log(`revoked ${which}`);
    });
}
