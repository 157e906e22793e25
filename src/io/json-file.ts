// Reading small JSON side files (document.json, a manifest, an index) with errors that name the file and the
// field: JSON.parse plus `as T` lets `null`, `[]` or a wrong-typed field surface later as an untyped
// "Cannot read properties of null" that names nothing.
import { readFileSync } from 'node:fs';
import { FormatError, shownJson } from './errors.js';

/** The JSON object in `file`; `what` describes it for the error ("the absorb settings {title, context_budget}"). */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FormatError(file, '(file)', `a readable file holding ${what}`, (e as Error).message);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, '(file)', `valid JSON holding ${what}`, (e as Error).message);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FormatError(file, '(top level)', `a JSON object: ${what}`, `got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : shownJson(v)}`);
  return v as Record<string, unknown>;
}

/** `o[key]` when `ok` accepts it; otherwise a FormatError naming the file, the key and what was expected. */
export function jsonField<T>(file: string, o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean, expected: string): T {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  if (!ok(v)) throw new FormatError(file, `"${key}"`, expected, v === undefined ? 'missing' : `got ${shownJson(v)}`);
  return v as T;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isPositiveInteger = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
