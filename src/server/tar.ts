// A POSIX ustar archive of a folder (an adapter folder's files; a parts folder's part-NN/ folders too), built in memory: the adapter
// download (GET /v1/documents/{id}/adapter) as one file that `tar -xf` unpacks, without an archive dependency.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function header(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number): void => void h.write(s, at, len, 'ascii');
  const octal = (n: number, len: number): string => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(mtime / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/**
 * The regular files of `dir` and its folders (a parts folder's part-NN/; not hidden ones: locks, staging), under
 * `prefix/` in a tar archive. Names are the folder's own (document ids, part-NN, fixed file names): a name
 * beyond ustar's 100 bytes is refused rather than cut.
 */
export function tarFolder(dir: string, prefix: string): Buffer {
  const parts: Buffer[] = [];
  const add = (at: string, name: string): void => {
    for (const entry of readdirSync(at).filter((n) => !n.startsWith('.')).sort()) {
      const p = join(at, entry), st = statSync(p), inner = `${name}/${entry}`;
      if (st.isDirectory()) {
        add(p, inner);
        continue;
      }
      if (!st.isFile()) continue;
      if (Buffer.byteLength(inner) > 100) throw new Error(`tarFolder: ${inner} is longer than a tar name (100 bytes)`);
      const data = readFileSync(p);
      parts.push(header(inner, data.length, st.mtimeMs), data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  };
  add(dir, prefix);
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}
