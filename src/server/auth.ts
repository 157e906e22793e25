// API keys: `lift keys create` prints a key once and stores only its SHA-256 (a leaked database reveals no
// key). With at least one active key every route needs `Authorization: Bearer <key>`; without any, the server
// is open (it binds 127.0.0.1 unless told otherwise). Keys are long random strings, so a plain SHA-256 is
// enough: there is nothing to brute-force that a slow hash would protect.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import type { Store, KeyRow } from './store.js';
import type { Caller } from './context.js';

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export function createKey(store: Store, name: string, admin: boolean): { key: string; row: KeyRow } {
  if (!/^[\w.@-]{1,64}$/.test(name)) throw new Error(`key name: expected 1–64 letters, digits or . _ @ -, got ${JSON.stringify(name)}`);
  if (store.listKeys().some((k) => k.name === name && k.revoked_at === null)) throw new Error(`a key named ${JSON.stringify(name)} exists already; revoke it first or choose another name`);
  const key = `lift-${randomBytes(24).toString('base64url')}`;
  const row = store.addKey({ id: `key_${randomBytes(8).toString('hex')}`, name, hash: hashKey(key), admin });
  return { key, row };
}

/** The caller of a request, or null when no key is configured; throws 401 for a missing or unknown key. */
export function authenticate(store: Store, req: FastifyRequest): Caller | null {
  if (store.activeKeys() === 0) return null;
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) throw new ApiError(401, 'this server needs an API key: send "Authorization: Bearer <key>" (lift keys create makes one)', 'authentication_error', 'missing_api_key');
  const row = store.keyByHash(hashKey(m[1]));
  if (!row) throw new ApiError(401, 'incorrect API key provided (unknown or revoked)', 'authentication_error', 'invalid_api_key');
  return { keyId: row.id, admin: row.admin };
}
