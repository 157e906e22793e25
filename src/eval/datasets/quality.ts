// QuALITY loader (github.com/nyu-mll/quality): long-article multiple choice → EvalDocument with choices/gold.
// Reads the flattened baseline format of quality_example.jsonl (question1, question1option1..4,
// question1_gold_label 1-based, article as HTML split into lines) and also the release format
// ({article, questions: [{question, options, gold_label}]}). Articles are Project Gutenberg HTML, turned
// into plain text here: tags dropped, entities decoded, paragraphs kept as blank-line-separated blocks.
import { Fields, readJsonl } from './jsonl.js';
import type { EvalDocument, EvalQuestion } from './types.js';

/** Reads a QuALITY JSONL file. Document ids are `unique_id` (article_id as fallback), made unique by line. */
export function loadQuality(file: string): EvalDocument[] {
  const seen = new Set<string>();
  return readJsonl(file).map((rec) => {
    const f = new Fields(file, rec.line, rec.value);
    const article = f.obj.article;
    let html: string;
    if (Array.isArray(article)) html = f.strArray('article').join('');
    else html = f.str('article');
    let id = f.has('unique_id') ? f.str('unique_id') : String(f.obj.article_id ?? `line${rec.line}`);
    // the example file holds the same record twice; keep both but never two documents with one id
    if (seen.has(id)) id = `${id}@L${rec.line}`;
    seen.add(id);
    const questions = Array.isArray(f.obj.questions) ? releaseQuestions(f, id) : flattenedQuestions(f, id);
    if (questions.length === 0) f.fail('question1', 'record has no questions');
    return { id, title: f.optStr('title') ?? id, text: htmlToText(html), questions };
  });
}

function makeQuestion(f: Fields, field: string, id: string, question: string, choices: string[], label: number): EvalQuestion {
  if (choices.length < 2) f.fail(field, `expected at least 2 options, found ${choices.length}`);
  if (!Number.isInteger(label) || label < 1 || label > choices.length) {
    f.fail(field, `gold label ${label} is not an option number 1..${choices.length}`);
  }
  const gold = label - 1;
  return { id, question: question.trim(), answers: [choices[gold]], choices, gold, type: 'multiple_choice' };
}

function flattenedQuestions(f: Fields, docId: string): EvalQuestion[] {
  const out: EvalQuestion[] = [];
  for (let n = 1; f.has(`question${n}`); n++) {
    const choices: string[] = [];
    for (let k = 1; f.has(`question${n}option${k}`); k++) choices.push(f.str(`question${n}option${k}`).trim());
    const label = f.num(`question${n}_gold_label`);
    out.push(makeQuestion(f, `question${n}_gold_label`, `${docId}/q${n}`, f.str(`question${n}`), choices, label));
  }
  return out;
}

function releaseQuestions(f: Fields, docId: string): EvalQuestion[] {
  return (f.obj.questions as unknown[]).map((raw, i) => {
    const q = f.nested(`questions[${i}]`, raw);
    const choices = q.strArray('options').map((s) => s.trim());
    const id = q.has('question_unique_id') ? q.str('question_unique_id') : `${docId}/q${i + 1}`;
    return makeQuestion(q, 'gold_label', id, q.str('question'), choices, q.num('gold_label'));
  });
}

const BLOCK_TAGS = /^(p|div|h[1-6]|hr|li|ul|ol|blockquote|pre|table|tr|section|article|header|footer|title|dd|dt|dl|center)$/i;
const PARA = '\uE000';
const LINE = '\uE001';

/**
 * HTML → plain text. Block elements end paragraphs ("\n\n" between them), <br> is a line break, other tags
 * vanish, entities are decoded, and the source's hard-wrapped lines inside a paragraph are re-joined with
 * spaces (they are layout, not content).
 */
export function htmlToText(html: string): string {
  let s = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '')
    .replace(/<(head|script|style)\b[\s\S]*?<\/\1\s*>/gi, '');
  s = s.replace(/<\/?([A-Za-z][A-Za-z0-9]*)\b[^>]*>/g, (_m, tag: string) => {
    if (tag.toLowerCase() === 'br') return LINE;
    return BLOCK_TAGS.test(tag) ? PARA : '';
  });
  return s
    .split(PARA)
    .map((para) =>
      para
        .split(LINE)
        .map((line) => decodeEntities(line).replace(/\s+/g, ' ').trim())
        .filter((line) => line !== '')
        .join('\n'),
    )
    .filter((para) => para !== '')
    .join('\n\n');
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', mdash: '—', ndash: '–', hellip: '…',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', laquo: '«', raquo: '»', copy: '©', reg: '®', trade: '™',
  deg: '°', middot: '·', bull: '•', shy: '\u00ad', times: '×', divide: '÷', pound: '£', euro: '€', cent: '¢',
  sect: '§', para: '¶', eacute: 'é', egrave: 'è', ecirc: 'ê', aacute: 'á', agrave: 'à', acirc: 'â',
  auml: 'ä', ouml: 'ö', uuml: 'ü', iuml: 'ï', euml: 'ë', ccedil: 'ç', ntilde: 'ñ', oacute: 'ó', uacute: 'ú',
  iacute: 'í', szlig: 'ß', aelig: 'æ', oelig: 'œ', frac12: '½', frac14: '¼', frac34: '¾',
};

/** Decodes numeric (&#8212; &#x2014;) and common named entities; unknown names are left as written. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);/g, (m, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED_ENTITIES[body] ?? m;
  });
}
