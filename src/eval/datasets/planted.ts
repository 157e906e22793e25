// A long TinyStories-style document with planted facts ("Lily's dog was called Biscuit.") and probes whose
// continuation needs a fact that middle truncation removes from the context: the recall benchmark and the
// demo. Stories come from a text file split on "Once upon a time"; `skip` keeps them disjoint from held-out
// text (the first 100 stories are the held-out set of the recall benchmark).
import { readFileSync } from 'node:fs';

export interface PlantedFact {
  /** The sentence planted in the document. */
  sentence: string;
  /** The probe: the sentence up to the answer ("Lily's dog was called"). */
  prompt: string;
  /** The answer word ("Biscuit"). */
  answer: string;
  /** The text right after `prompt` up to the answer's end, where it is not " " + answer (a quote: ' "Hop'). */
  continuation?: string;
}

export interface PlantedDocument {
  title: string;
  text: string;
  facts: PlantedFact[];
}

// 32 facts: the first 16 are the recall bench's and the demo's (unchanged); 16–31 let `recall --multi` give eight
// documents four disjoint facts each.
const PEOPLE = ['Lily', 'Tom', 'Ben', 'Mia', 'Sam', 'Anna', 'Max', 'Lucy', 'Tim', 'Sue', 'Jack', 'Emma', 'Zoe', 'Leo', 'Kim', 'Dan',
  'Ella', 'Finn', 'Rosa', 'Hugo', 'Ivy', 'Owen', 'Nora', 'Eli', 'Ruby', 'Jake', 'Lola', 'Noah', 'Amy', 'Paul', 'Gina', 'Ted'];
const THINGS = ['dog', 'cat', 'bird', 'fish', 'teddy', 'boat', 'kite', 'frog', 'doll', 'horse', 'bunny', 'duck', 'car', 'ball', 'hat', 'tree',
  'pony', 'goat', 'robot', 'drum', 'train', 'sheep', 'owl', 'mouse', 'truck', 'puppy', 'kitten', 'bear', 'snail', 'pig', 'cow', 'bike'];
const NAMES = ['Biscuit', 'Pepper', 'Zorro', 'Maple', 'Nugget', 'Pickle', 'Waffle', 'Rocket', 'Bubbles', 'Mango', 'Pebble', 'Toffee', 'Comet', 'Noodle', 'Sprout', 'Jelly',
  'Pumpkin', 'Clover', 'Gizmo', 'Ziggy', 'Button', 'Muffin', 'Peanut', 'Tango', 'Sparky', 'Hazel', 'Cookie', 'Fudge', 'Marble', 'Pixie', 'Blossom', 'Whiskers'];

/** The stories of a TinyStories text file: split on "Once upon a time", each re-prefixed and trimmed. */
export function readStories(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('Once upon a time')
    .slice(1)
    .map((s) => ('Once upon a time' + s).trim())
    .filter((s) => s.length > 0);
}

/**
 * Concatenates stories[skip…] until `countTokens(text) ≥ minTokens`, then plants `nFacts` facts at evenly
 * spaced story boundaries between 25 % and 75 % of the document (where a middle-truncated context cannot see).
 */
export function plantedDocument(stories: string[], opts: { minTokens: number; countTokens: (s: string) => number; nFacts?: number; skip?: number; firstFact?: number }): PlantedDocument {
  // firstFact: facts first … first + n − 1 of the 32 (documents absorbed together get disjoint facts).
  const first = opts.firstFact ?? 0;
  const n = Math.min(opts.nFacts ?? 12, NAMES.length - first);
  const picked: string[] = [];
  let tokens = 0;
  for (let i = opts.skip ?? 0; i < stories.length && tokens < opts.minTokens; i++) {
    picked.push(stories[i]);
    tokens += opts.countTokens(stories[i]) + 1;
  }
  if (tokens < opts.minTokens) throw new Error(`plantedDocument: only ${tokens} tokens of stories available, ${opts.minTokens} requested`);
  const facts: PlantedFact[] = Array.from({ length: n }, (_, i) => {
    const k = first + i;
    const prompt = `${PEOPLE[k]}'s ${THINGS[k]} was called`;
    return { prompt, answer: NAMES[k], sentence: `${prompt} ${NAMES[k]}.` };
  });
  // Never after the last story: a short document's last slot would otherwise put facts at its very end, inside
  // the tail a middle-truncated context keeps (3 stories: slots 0–2, the last one after story 3 of 3).
  const lo = Math.floor(picked.length * 0.25), hi = Math.min(Math.ceil(picked.length * 0.75), picked.length - 1);
  const slots = facts.map((_, i) => lo + Math.floor(((i + 0.5) * (hi - lo)) / n));
  const out: string[] = [];
  picked.forEach((s, i) => {
    out.push(s);
    facts.forEach((f, k) => slots[k] === i && out.push(f.sentence));
  });
  return { title: 'Stories', text: out.join('\n\n'), facts };
}
