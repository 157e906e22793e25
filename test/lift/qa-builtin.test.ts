// docs/method.md §3 auxiliary QAs without a language model (qa/builtin.ts), the shared parsing of model replies
// (qa/prompt.ts), the 'self' generator over a chat template, and makeQAGenerator's spec strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABOUT_WORDINGS, BuiltinQAGenerator, builtinQAs, candidateSpans, clozeSpan, recitationSplit } from '../../src/lift/qa/builtin.js';
import { makeQAGenerator, SelfQAGenerator } from '../../src/lift/qa/index.js';
import { evidenceIsVerbatim, paperQAPrompt, parseQAResponse } from '../../src/lift/qa/prompt.js';
import { splitSentences } from '../../src/lift/sentences.js';

const PARAGRAPH = 'The village sat beside a cold river. In 1847 a miller named Jonas Berg built a wooden bridge there. ' +
  'Children crossed it every morning on their way to school. The bridge was called the Weeping Span by the locals. ' +
  'Dr. Hale counted 312 planks before the flood of the next spring. Nobody remembered who painted it green. ' +
  'Later the council of Marrow Hill decided to replace it with stone.';

test('splitSentences keeps exact slices and does not split at "Dr."', () => {
  const s = splitSentences(PARAGRAPH);
  assert.equal(s.length, 7);
  s.forEach((x) => assert.equal(PARAGRAPH.slice(x.start, x.end), x.text));
  assert.ok(s[4].text.startsWith('Dr. Hale counted'));
  assert.deepEqual(splitSentences('One.\n\nTwo without stop\n\nThree!').map((x) => x.text), ['One.', 'Two without stop', 'Three!']);
});

test('cloze spans: the rarest candidate; numbers and entities before words at equal counts; no wording favoured', () => {
  const span = (s: string, counts: Record<string, number> = {}): string => { const x = clozeSpan(s, (w) => counts[w] ?? 1)!; return s.slice(x[0], x[1]); };
  const s = 'In 1847 a miller named Jonas Berg built a bridge.';
  assert.deepEqual(candidateSpans(s).map((c) => [s.slice(c.span[0], c.span[1]), c.kind]), [['1847', 0], ['Jonas Berg', 1], ['miller', 2], ['named', 2], ['built', 2], ['bridge', 2]]);
  assert.equal(span(s), 'Jonas Berg'); // all once: an entity or number before a word, then the longer
  assert.equal(span(s, { 'Jonas Berg': 3 }), '1847');
  assert.equal(span(s, { 'Jonas Berg': 3, 1847: 2, miller: 2 }), 'bridge'); // words at 1 beat both; the longer word
  // What precedes a span does not matter (builtin-v2 hid a word after "called"/"named" first).
  for (const verb of ['was called', 'was', 'looked like']) assert.equal(span(`Her kite ${verb} Zephyr in the meadow.`, { Zephyr: 4, called: 9, looked: 9, like: 9 }), 'meadow');
  assert.equal(span('Later the council of Marrow Hill decided.'), 'Marrow Hill');
  assert.ok(!candidateSpans('she said: "Quick, run to them."').some((c) => c.kind === 1), "a quote's first word is no entity");
  assert.deepEqual(recitationSplit('Children crossed it every morning on their way.'), ['Children crossed it every', 'morning on their way.']);
  assert.equal(recitationSplit('Too short here.'), null);
  assert.equal(clozeSpan('it is so.'), null);
});

test('builtin generator: verbatim answers and evidence, deterministic per seed', async () => {
  const gen = makeQAGenerator('builtin');
  const qas = await gen.generate(PARAGRAPH, 8, { seed: 1 });
  assert.equal(qas.length, 8);
  for (const qa of qas) {
    assert.equal(qa.evidence.length, 1);
    assert.ok(PARAGRAPH.includes(qa.evidence[0]), qa.evidence[0]);
    assert.ok(qa.evidence[0].includes(qa.answer), `${qa.answer} not in ${qa.evidence[0]}`);
    if (qa.question.startsWith('Fill in the blank: ')) {
      assert.equal(qa.question.slice('Fill in the blank: '.length).replace('___', qa.answer), qa.evidence[0]);
    } else if (qa.question.startsWith('What does the text say about ')) {
      assert.equal(qa.answer, qa.evidence[0]);
      assert.ok(qa.answer.includes(qa.question.slice('What does the text say about '.length, -1)), qa.question);
    } else {
      const m = /^What comes after: '(.*)'\?$/s.exec(qa.question);
      assert.ok(m, qa.question);
      assert.ok(qa.evidence[0].startsWith(m[1]) && qa.evidence[0].endsWith(qa.answer));
    }
  }
  assert.ok(qas.some((q) => q.answer === 'Jonas Berg' || q.answer === '1847'));
  assert.ok(qas.some((q) => q.question.startsWith('What comes after')));
  assert.deepEqual(await gen.generate(PARAGRAPH, 8, { seed: 1 }), qas);
  assert.notDeepEqual(builtinQAs(PARAGRAPH, 8, 2), qas);
  // At most a cloze and a recitation per sentence, plus a cloze for each further number or entity; no repeats.
  const all = builtinQAs(PARAGRAPH, 100, 0);
  const names = splitSentences(PARAGRAPH).flatMap((x) => candidateSpans(x.text).filter((c) => c.kind !== 2));
  // …and an about-question per name (at most one more per sentence for its first word).
  assert.ok(all.length <= 14 + 2 * names.length + 7, `${all.length} QAs`);
  assert.equal(new Set(all.map((q) => q.question)).size, all.length);
  assert.ok(all.some((q) => q.answer === 'Jonas Berg') && all.some((q) => q.answer === '1847'), 'both rare spans of one sentence are asked');
  assert.deepEqual(builtinQAs('', 5), []);
});

test('parseQAResponse and evidence checks follow the released code', () => {
  const ok = parseQAResponse('Question: Who built the bridge? \nAnswer: Jonas Berg \nEvidence: In 1847 a miller named Jonas Berg built a wooden bridge there.');
  assert.ok(ok.ok);
  assert.deepEqual(ok.qa, { question: 'Who built the bridge?', answer: 'Jonas Berg', evidence: ['In 1847 a miller named Jonas Berg built a wooden bridge there.'] });
  assert.ok(evidenceIsVerbatim(ok.qa.evidence, PARAGRAPH));
  assert.ok(evidenceIsVerbatim(['Children crossed   it\nevery morning'], PARAGRAPH), 'whitespace is normalised');
  assert.ok(!evidenceIsVerbatim(['children crossed it every morning'], PARAGRAPH), 'nothing else is');
  const multi = parseQAResponse('Question: q\nAnswer: a\nEvidence:\n- "The village sat beside a cold river."\n- Nobody remembered who painted it green.');
  assert.ok(multi.ok && multi.qa.evidence.length === 2 && evidenceIsVerbatim(multi.qa.evidence, PARAGRAPH));
  assert.equal(parseQAResponse('Answer: x Question: y Evidence: z').ok, false);
  assert.equal(parseQAResponse('no format at all').ok, false);
  assert.ok(paperQAPrompt('PASSAGE').endsWith("Please DON'T output quotes when outputting evidences. The following is the piece of text: PASSAGE"));
});

test('self generator renders the chat template and parses the completion', async () => {
  const template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  const prompts: string[] = [];
  const gen = new SelfQAGenerator({
    chatTemplate: template, modelId: 'tiny',
    complete: async (p) => { prompts.push(p); return 'Question: What colour was the bridge painted? Answer: green Evidence: Nobody remembered who painted it green.'; },
  });
  const qas = await gen.generate(PARAGRAPH, 2, { seed: 0 });
  assert.equal(qas.length, 2);
  assert.equal(qas[0].answer, 'green');
  assert.ok(prompts[0].startsWith('<|system|>You are a helpful assistant.\n<|user|>You are given a piece of text'));
  assert.ok(prompts[0].endsWith('<|assistant|>'));
  assert.equal(gen.id, 'self:tiny');
  const base = new SelfQAGenerator({ chatTemplate: null, complete: async () => '' });
  assert.ok(base.render('REQ') === 'REQ\n');
  const warnings: string[] = [];
  assert.deepEqual(await base.generate(PARAGRAPH, 1, { warn: (m) => warnings.push(m) }), []);
  assert.match(warnings[0], /skipped after 5 attempts/);
});

test('makeQAGenerator: spec strings and their errors', () => {
  assert.equal(makeQAGenerator('builtin').id, 'builtin-v5');
  assert.match(makeQAGenerator('http://127.0.0.1:9/v1', { openai: { model: 'm' } }).id, /^openai:http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions#m$/);
  assert.throws(() => makeQAGenerator('http://x/v1'), /needs a model name/);
  assert.throws(() => makeQAGenerator('self'), /completion function/);
  assert.throws(() => makeQAGenerator('gpt'), /unknown QA generator 'gpt'/);
});

test('builtin generator: clozes with the rarest answers come first', () => {
  const common = Array.from({ length: 8 }, (_, i) => `The dog ran to the park on day ${i + 1} with a ball.`).join(' ');
  const passage = `${common} Her kite was called Zephyrine. ${common} His boat was called Marmaduke.`;
  for (const seed of [0, 1, 2]) {
    const clozes = builtinQAs(passage, 6, seed).filter((q) => q.question.startsWith('Fill in the blank: '));
    assert.deepEqual(clozes.slice(0, 2).map((q) => q.answer).sort(), ['Marmaduke', 'Zephyrine'], `seed ${seed}`);
  }
});

test('occurrences counts as passage.split(answer) does, for every answer in one pass', async () => {
  const { occurrences } = await import('../../src/lift/qa/builtin.js');
  const { rngFor } = await import('../../src/lift/rng.js');
  const rng = rngFor(7, 1);
  const alphabet = ['a', 'b', 'ab', ' ', 'Lily', '1', '11', 'é', '\u{1F600}', '.'];
  for (let round = 0; round < 200; round++) {
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rng() * alphabet.length)]).join('');
    const passage = pick(5 + Math.floor(rng() * 60));
    // Answers: slices of the passage (as clozes are), overlapping ones and absent ones.
    const answers = Array.from({ length: 6 }, () => {
      const a = Math.floor(rng() * passage.length), b = a + 1 + Math.floor(rng() * 6);
      return rng() < 0.8 ? passage.slice(a, b) : pick(2);
    }).filter((a) => a.length > 0).concat(['aa', 'aaa', '11']);
    const got = occurrences(passage, answers);
    for (const a of answers) assert.equal(got.get(a), passage.split(a).length - 1, `${JSON.stringify(a)} in ${JSON.stringify(passage)}`);
  }
});

test('builtin generator with about: each rare name gets "What does the text say about E?" → its sentence', () => {
  const passage = 'Once upon a time there was a cat. Later, the cat slept. The cat met Zephyrine at the pond. Bartholomew had a red hat. The dog saw the cat. Bartholomew waved.';
  const qas = builtinQAs(passage, 30, 0, { about: true });
  const about = qas.filter((q) => q.question.startsWith('What does the text say about '));
  assert.deepEqual(about.map((q) => [q.question, q.answer]).sort(), [
    ['What does the text say about Bartholomew?', 'Bartholomew had a red hat.'],
    ['What does the text say about Bartholomew?', 'Bartholomew waved.'],
    ['What does the text say about Zephyrine?', 'The cat met Zephyrine at the pond.'],
  ], 'first words written in lower case elsewhere ("The", "Once") or before a comma ("Later,") are no names');
  for (const q of about) assert.deepEqual(q.evidence, [q.answer]);
  assert.deepEqual(builtinQAs(passage, 30, 0), qas, 'on by default');
  assert.ok(!builtinQAs(passage, 30, 0, { about: false }).some((q) => q.question.startsWith('What does the text say')), 'off with about: false');
  assert.deepEqual([new BuiltinQAGenerator().id, new BuiltinQAGenerator({ about: false }).id], ['builtin-v5', 'builtin-v4']);
});

test('builtin generator with aboutWordings: the same about-questions, each in a wording drawn from the seed', () => {
  const passage = 'Once upon a time there was a cat. Later, the cat slept. The cat met Zephyrine at the pond. Bartholomew had a red hat. The dog saw the cat. Bartholomew waved. ' +
    'Quillon found a stone. Marisol sang by the river. Theobald baked bread. Ulrika painted the fence. Casimir climbed a hill. Ottoline read a book.';
  const plain = builtinQAs(passage, 60, 3);
  const worded = builtinQAs(passage, 60, 3, { aboutWordings: true });
  assert.equal(worded.length, plain.length);
  // Every question a wording of the plain one's name, the answers and evidence unchanged, pair by pair.
  const wordingOf = (q: string, e: string) => ABOUT_WORDINGS.findIndex((w) => w(e) === q);
  let abouts = 0;
  const used = new Set<number>();
  plain.forEach((p, i) => {
    const w = worded[i];
    assert.equal(w.answer, p.answer);
    assert.deepEqual(w.evidence, p.evidence);
    const m = /^What does the text say about (.+)\?$/.exec(p.question);
    if (!m) return assert.equal(w.question, p.question, 'other kinds of question unchanged');
    abouts++;
    const k = wordingOf(w.question, m[1]);
    assert.ok(k >= 0, `${w.question}: a wording about ${m[1]}`);
    used.add(k);
  });
  assert.ok(abouts >= 8, `${abouts} about-questions`);
  assert.ok(used.size >= 3, `wordings used: ${[...used]}`);
  assert.deepEqual(builtinQAs(passage, 60, 3, { aboutWordings: true }), worded, 'deterministic for a seed');
  assert.equal(new BuiltinQAGenerator({ aboutWordings: true }).id, 'builtin-v6');
});

