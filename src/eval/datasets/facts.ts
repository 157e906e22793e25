// The recall suite's planted facts (issue 14 item 1): a seeded generator of facts in six sentence families —
// names, places, numbers, colours, quotes, relations between two entities — each with several wordings, planted
// into TinyStories text. Every fact carries three probes: the planted sentence's own prefix, the prefix of
// another wording of the same fact (a paraphrase), and a question (answered through `ask`). The QA generator
// (src/lift/qa/) must not know any of this: nothing here is imported by src/lift, and test/eval/facts.test.ts
// checks that the QA code names none of these families or wordings.
// Every answer sits right after its prefix, so a prefix probe's greedy continuation can be scored directly.
import { rngFor, shuffled, randInt, type Rng } from '../../lift/rng.js';
import type { PlantedFact } from './planted.js';

export const FACT_FAMILIES = ['names', 'places', 'numbers', 'colours', 'quotes', 'relations'] as const;
export type FactFamily = (typeof FACT_FAMILIES)[number];
export const PROBE_FORMS = ['prefix', 'paraphrase', 'question'] as const;
export type ProbeForm = (typeof PROBE_FORMS)[number];

export interface GeneratedFact extends PlantedFact {
  family: FactFamily;
  /** Which of the family's wordings was planted. */
  wording: number;
  /** The prefix of another wording of the same fact, up to the answer (the paraphrase probe). */
  paraphrase: string;
  /** What follows `paraphrase` up to the end of the answer (the answer's own spelling after that prefix). */
  paraphraseContinuation: string;
  /** A question answered by `answer` (the question probe, through ask()). */
  question: string;
}

export interface FactDocument {
  title: string;
  text: string;
  facts: GeneratedFact[];
  seed: number;
  /** Index of the first story used (stories before it are not in the document). */
  firstStory: number;
  stories: number;
}

// Subjects: one per fact in a document, so no probe is ambiguous.
const SUBJECTS = ['Lily', 'Tom', 'Ben', 'Mia', 'Sam', 'Anna', 'Max', 'Lucy', 'Tim', 'Sue', 'Jack', 'Emma', 'Zoe', 'Leo', 'Kim', 'Dan',
  'Amy', 'Bob', 'Jill', 'Ned', 'Pam', 'Ray', 'Tess', 'Vic', 'Rose', 'Finn', 'Ella', 'Joe', 'Kate', 'Ollie', 'Nina', 'Paul'];
const PETS = ['dog', 'cat', 'bird', 'fish', 'teddy', 'boat', 'kite', 'frog', 'doll', 'horse', 'bunny', 'duck', 'turtle', 'pony', 'robot', 'puppet'];
const PET_NAMES = ['Biscuit', 'Pepper', 'Zorro', 'Maple', 'Nugget', 'Pickle', 'Waffle', 'Rocket', 'Bubbles', 'Mango', 'Pebble', 'Toffee', 'Comet', 'Noodle', 'Sprout', 'Jelly'];
const PLACES = ['Willowbrook', 'Pinecrest', 'Maplewood', 'Sunnyvale', 'Brambleton', 'Foxhollow', 'Clearwater', 'Oakridge', 'Meadowby', 'Rosebay', 'Stonybrook', 'Larkspur'];
const ITEMS = ['shells', 'stars', 'apples', 'stones', 'buttons', 'acorns', 'feathers', 'leaves', 'marbles', 'cookies', 'flowers', 'sticks'];
const OBJECTS = ['hat', 'scarf', 'bike', 'coat', 'cup', 'umbrella', 'bucket', 'blanket', 'sled', 'bag', 'chair', 'door'];
const COLOURS = ['purple', 'orange', 'silver', 'golden', 'pink', 'green', 'yellow', 'brown', 'blue', 'red', 'white', 'black'];
const QUOTES = ['Jump like a frog', 'Hats are for cats', 'Soup before sleep', 'Clouds are pillows', 'Never trust a goose', 'Socks go on feet',
  'Bees love blue', 'Mud pies are best', 'Count the stars', 'Hop to the moon', 'Muffins are magic', 'Keep your boots dry'];
const RELATIONS = ['best friend', 'teacher', 'neighbour', 'cousin', 'helper', 'pen pal'];
const PARTNERS = ['Oscar', 'Greta', 'Hugo', 'Nora', 'Felix', 'Otto', 'Ruby', 'Milo', 'Hazel', 'Jasper', 'Wren', 'Clara', 'Rufus', 'Mabel', 'Silas', 'Edna'];

/** One wording: the text before the answer, what follows the prefix up to the answer's end, and the rest. */
interface Wording { prefix: string; continuation: string; rest: string }
interface Family {
  /** Draws the fact's slots (besides the subject) and its answer; `used` keeps answers distinct in a document. */
  draw(rng: Rng, used: Set<string>): { slots: Record<string, string>; answer: string };
  wordings: ((s: Record<string, string>, answer: string) => Wording)[];
  question(s: Record<string, string>): string;
}

const w = (prefix: string, answer: string, rest: string, sep = ' '): Wording => ({ prefix, continuation: `${sep}${answer}`, rest });

/** An element of `pool` not yet in `used` (recorded there). */
function fresh(rng: Rng, pool: readonly string[], used: Set<string>): string {
  const free = pool.filter((x) => !used.has(x));
  if (free.length === 0) throw new Error(`facts: the pool ${JSON.stringify(pool.slice(0, 3))}… is exhausted; plant fewer facts per family`);
  const x = free[Math.floor(rng() * free.length)];
  used.add(x);
  return x;
}

const FAMILIES: Record<FactFamily, Family> = {
  names: {
    draw: (rng, used) => ({ slots: { pet: fresh(rng, PETS, used) }, answer: fresh(rng, PET_NAMES, used) }),
    wordings: [
      (s, a) => w(`${s.subject}'s ${s.pet} was called`, a, '.'),
      (s, a) => w(`${s.subject} had a ${s.pet} named`, a, '.'),
      (s, a) => w(`The name of ${s.subject}'s ${s.pet} was`, a, '.'),
    ],
    question: (s) => `What was the name of ${s.subject}'s ${s.pet}?`,
  },
  places: {
    draw: (rng, used) => ({ slots: {}, answer: fresh(rng, PLACES, used) }),
    wordings: [
      (s, a) => w(`${s.subject} lived in a town called`, a, '.'),
      (s, a) => w(`The town where ${s.subject} lived was`, a, '.'),
      (s, a) => w(`${s.subject}'s home was in the village of`, a, ', near the hills.'),
    ],
    question: (s) => `Where did ${s.subject} live?`,
  },
  numbers: {
    draw: (rng, used) => {
      let n: string;
      do n = String(randInt(rng, 12, 98)); while (used.has(n));
      used.add(n);
      return { slots: { items: fresh(rng, ITEMS, used) }, answer: n };
    },
    wordings: [
      (s, a) => w(`${s.subject} found`, a, ` ${s.items} in the garden.`),
      (s, a) => w(`In the garden, ${s.subject} counted`, a, ` ${s.items}.`),
      (s, a) => w(`The number of ${s.items} that ${s.subject} found was`, a, '.'),
    ],
    question: (s) => `How many ${s.items} did ${s.subject} find?`,
  },
  colours: {
    draw: (rng, used) => ({ slots: { obj: fresh(rng, OBJECTS, used) }, answer: fresh(rng, COLOURS, used) }),
    wordings: [
      (s, a) => w(`${s.subject}'s ${s.obj} was`, a, '.'),
      (s, a) => w(`The colour of ${s.subject}'s ${s.obj} was`, a, '.'),
      (s, a) => w(`${s.subject} had a`, a, ` ${s.obj} that everyone liked.`),
    ],
    question: (s) => `What colour was ${s.subject}'s ${s.obj}?`,
  },
  quotes: {
    draw: (rng, used) => ({ slots: {}, answer: fresh(rng, QUOTES, used) }),
    wordings: [
      (s, a) => w(`${s.subject} always said,`, a, '!"', ' "'),
      (s, a) => w(`The words ${s.subject} said every day were`, a, '!"', ' "'),
      (s, a) => w(`Every morning ${s.subject} would shout,`, a, '!"', ' "'),
    ],
    question: (s) => `What did ${s.subject} always say?`,
  },
  relations: {
    draw: (rng, used) => ({ slots: { rel: fresh(rng, RELATIONS, used) }, answer: fresh(rng, PARTNERS, used) }),
    wordings: [
      (s, a) => w(`${s.subject}'s ${s.rel} was`, a, '.'),
      (s, a) => w(`The ${s.rel} of ${s.subject} was a kind person named`, a, '.'),
      (s, a) => w(`${s.subject} went to the park with a ${s.rel} called`, a, '.'),
    ],
    question: (s) => `Who was ${s.subject}'s ${s.rel}?`,
  },
};

/**
 * `perFamily` facts of every family (≥ 6 · perFamily subjects are needed: 32 are available), in a seeded order.
 * Answers are distinct within a family, subjects across the document; the planted wording and the
 * paraphrase's wording are drawn per fact.
 */
export function generateFacts(seed: number, perFamily = 4): GeneratedFact[] {
  const n = perFamily * FACT_FAMILIES.length;
  if (n > SUBJECTS.length) throw new Error(`facts: ${n} facts need ${n} subjects, only ${SUBJECTS.length} exist; use perFamily ≤ ${Math.floor(SUBJECTS.length / FACT_FAMILIES.length)}`);
  const rng = rngFor(seed, 0xfac7);
  const subjects = shuffled(rng, SUBJECTS);
  const facts: GeneratedFact[] = [];
  FACT_FAMILIES.forEach((family, fi) => {
    const fam = FAMILIES[family], used = new Set<string>();
    for (let k = 0; k < perFamily; k++) {
      const { slots, answer } = fam.draw(rng, used);
      const s = { ...slots, subject: subjects[fi * perFamily + k] };
      const wording = Math.floor(rng() * fam.wordings.length);
      const other = (wording + 1 + Math.floor(rng() * (fam.wordings.length - 1))) % fam.wordings.length;
      const planted = fam.wordings[wording](s, answer), para = fam.wordings[other](s, answer);
      facts.push({
        family, wording, answer,
        prompt: planted.prefix, continuation: planted.continuation,
        sentence: `${planted.prefix}${planted.continuation}${planted.rest}`,
        paraphrase: para.prefix, paraphraseContinuation: para.continuation,
        question: fam.question(s),
      });
    }
  });
  return shuffled(rng, facts);
}

/**
 * A document of ≥ `minTokens` tokens: consecutive stories from a seeded start at or after `skip` (the stories
 * before it are held out), with `generateFacts(seed, perFamily)` planted as paragraphs at seeded story
 * boundaries, never before the first story nor after the last (a middle-truncated context keeps both ends).
 */
export function factDocument(stories: string[], opts: { minTokens: number; countTokens: (s: string) => number; seed: number; perFamily?: number; skip?: number; edgeTokens?: number }): FactDocument {
  const skip = opts.skip ?? 0;
  const rng = rngFor(opts.seed, 0xd0c);
  // The start: anywhere that leaves room for the longest document the suite asks for (~64 stories of 16k tokens).
  const first = skip + randInt(rng, 0, Math.max(0, Math.min(400, stories.length - skip - 200)));
  const picked: string[] = [];
  let tokens = 0;
  for (let i = first; i < stories.length && tokens < opts.minTokens; i++) {
    picked.push(stories[i]);
    tokens += opts.countTokens(stories[i]) + 1;
  }
  if (tokens < opts.minTokens) throw new Error(`factDocument: only ${tokens} tokens of stories from story ${first}, ${opts.minTokens} requested`);
  if (picked.length < 3) throw new Error(`factDocument: ${picked.length} stories make ${tokens} tokens; at least 3 are needed to plant facts between them`);
  const facts = generateFacts(opts.seed, opts.perFamily ?? 4);
  // Boundary i puts facts after story i: i ≤ picked.length − 2 keeps a whole story after the last fact, and
  // boundaries within `edgeTokens` of either end (what a middle-truncated context keeps) are skipped.
  const edge = opts.edgeTokens ?? 0;
  const before: number[] = [];
  picked.reduce((t, s, i) => ((before[i] = t + opts.countTokens(s) + 1), before[i]), 0);
  const boundaries = [...Array(picked.length - 1).keys()].filter((i) => before[i] >= edge && tokens - before[i] >= edge);
  if (boundaries.length === 0) throw new Error(`factDocument: no story boundary lies ${edge} tokens from both ends of a ${tokens}-token document`);
  const slots = facts.map(() => boundaries[randInt(rng, 0, boundaries.length - 1)]);
  const out: string[] = [];
  picked.forEach((s, i) => {
    out.push(s);
    facts.forEach((f, k) => slots[k] === i && out.push(f.sentence));
  });
  return { title: 'Stories', text: out.join('\n\n'), facts, seed: opts.seed, firstStory: first, stories: picked.length };
}

/** Every word pool the generator draws from (tests check that the QA generator knows none of them). */
export const FACT_POOLS: Readonly<Record<string, readonly string[]>> = { SUBJECTS, PETS, PET_NAMES, PLACES, ITEMS, OBJECTS, COLOURS, QUOTES, RELATIONS, PARTNERS };
