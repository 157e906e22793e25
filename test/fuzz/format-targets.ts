// Fuzz targets for the document formats (src/docs/): mutants of a valid generated PDF, HTML page, DOCX and EPUB
// through extractDocument, as `lift absorb` and uploads call it. Bad bytes must end in a FormatError, never a
// crash, an untyped error or a hang; the setup loads each format's library before the first input is timed.
import fc from 'fast-check';
import { extractDocument } from '../../src/docs/index.js';
import { makeDocx, makeEpub, makeHtml, makePdf } from '../lift/formats-fixtures.js';
import { applyByteOps, byteOps, type ByteOp } from './mutate.js';
import type { FuzzTarget } from './targets.js';

type Input = { ops: ByteOp[] } | { random: Uint8Array };

const PARAS = ['Lily went to the park and found a red ball near tree 7.', 'The keeper was called Morwenna Tallis.'];

function formatTarget(name: string, file: string, make: () => Uint8Array | Promise<Uint8Array>): FuzzTarget<Input> {
  return {
    name,
    what: `extractDocument on mutants of a generated ${file} (bit flips, odd integers, truncation, splices) and random bytes`,
    input: () => fc.oneof(
      { weight: 19, arbitrary: byteOps(2048).map((ops) => ({ ops })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((random) => ({ random })) },
    ),
    setup: async () => {
      const base = await make();
      await extractDocument(base, file); // loads the library and checks the unmutated file reads
      return async (x) => {
        await extractDocument('ops' in x ? applyByteOps(base, x.ops) : x.random, file);
      };
    },
  };
}

export const FORMAT_TARGETS = [
  formatTarget('pdf', 'doc.pdf', () => makePdf(PARAS)),
  formatTarget('html', 'doc.html', () => Buffer.from(makeHtml('Title', PARAS))),
  formatTarget('docx', 'doc.docx', () => makeDocx(PARAS)),
  formatTarget('epub', 'doc.epub', () => makeEpub([{ title: 'One', paragraphs: PARAS }])),
];
