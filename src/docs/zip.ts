// Opening a zip container (DOCX and EPUB are zips) with fflate, bounded: a corrupt archive is a FormatError
// naming the file, and the declared uncompressed sizes are checked before anything is inflated, so a
// small upload cannot expand into gigabytes (a zip bomb).
import { unzipSync } from 'fflate';
import { FormatError } from '../io/errors.js';

/** Most bytes all entries may inflate to: far above any real book or report, far below the machine's memory. */
export const MAX_UNZIPPED = 256 * 1024 * 1024;

export function openZip(buf: Uint8Array, name: string, what: string): Record<string, Uint8Array> {
  let total = 0;
  try {
    return unzipSync(buf, {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_UNZIPPED) throw new RangeError(`its entries inflate to more than ${MAX_UNZIPPED} bytes`);
        return true;
      },
    });
  } catch (e) {
    throw FormatError.withMessage(name, 'zip', `${name}: not a readable ${what} (expected a zip archive): ${(e as Error).message}`);
  }
}

/** An entry's text, UTF-8 (the XML in DOCX and EPUB is UTF-8 in practice; a bad byte becomes U+FFFD). */
export function entryText(entries: Record<string, Uint8Array>, path: string): string | undefined {
  const e = entries[path];
  return e === undefined ? undefined : new TextDecoder('utf-8').decode(e);
}
