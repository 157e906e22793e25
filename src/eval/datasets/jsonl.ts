// Line-numbered JSONL reading and field checks shared by the dataset loaders, so every malformed record
// is reported as "file:line: field ...: problem" instead of a bare TypeError deep inside a loader.
import { readFileSync } from 'node:fs';

/** Thrown for any malformed dataset record; names the file, the 1-based line and the field. */
export class DatasetFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(`${file}:${line}: ${field === undefined ? '' : `field "${field}": `}${problem}`);
    this.name = 'DatasetFormatError';
  }
}

export interface JsonlRecord {
  line: number;
  value: Record<string, unknown>;
}

/** Parses a JSONL file (blank lines skipped); each line must be a JSON object. */
export function readJsonl(file: string): JsonlRecord[] {
  const text = readFileSync(file, 'utf8');
  const out: JsonlRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new DatasetFormatError(file, i + 1, undefined, `invalid JSON: ${(e as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DatasetFormatError(file, i + 1, undefined, 'expected a JSON object');
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return out;
}

/** Field accessor bound to one record, so checks read as `f.str('title')`. */
export class Fields {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly obj: Record<string, unknown>,
    readonly prefix = '',
  ) {}

  fail(field: string, problem: string): never {
    throw new DatasetFormatError(this.file, this.line, this.prefix + field, problem);
  }

  has(field: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.obj, field);
  }

  str(field: string): string {
    const v = this.obj[field];
    if (typeof v !== 'string') this.fail(field, `expected a string, found ${kind(v)}`);
    return v;
  }

  optStr(field: string): string | undefined {
    return this.obj[field] === undefined || this.obj[field] === null ? undefined : this.str(field);
  }

  num(field: string): number {
    const v = this.obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `expected a number, found ${kind(v)}`);
    return v;
  }

  strArray(field: string): string[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, `expected a list of strings, found ${kind(v)}`);
    v.forEach((x, i) => {
      if (typeof x !== 'string') this.fail(`${field}[${i}]`, `expected a string, found ${kind(x)}`);
    });
    return v as string[];
  }

  /** Nested object view (e.g. one QA item) that keeps the file, line and a path prefix for messages. */
  nested(field: string, value: unknown): Fields {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) {
      this.fail(field, `expected a dict, found ${kind(value)}`);
    }
    return new Fields(this.file, this.line, value as Record<string, unknown>, `${this.prefix}${field}.`);
  }
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (missing)';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
