// Strict parser for Python literals, the subset `ast.literal_eval` accepts, mapped to JS values.
// Why: LooGLE's sample files store `qa_pairs` as a Python literal string (single quotes, \' escapes,
// nested dicts/lists), which JSON.parse rejects, and LooGLE's cloze scorer `eval`s model output as a dict.
//
// Mapping: str → string; bytes → Uint8Array; int → number (bigint when beyond 2^53); float → number;
// True/False → boolean; None → null; list and tuple → array; set → Set; dict → plain object (default) or
// Map (`dicts: 'map'`, needed for non-string keys such as tuples; a Map keeps True and 1 apart, and
// compares tuple keys by identity). Object keys of floats are approximate: 1.0 becomes '1', not '1.0'.
// Complex numbers, f-strings, \N{...} escapes and `...` are rejected with a clear PyLiteralSyntaxError.
// Positions are UTF-16 offsets.

export type PyValue = string | number | bigint | boolean | null | Uint8Array | PyValue[] | Set<PyValue>
  | Map<PyValue, PyValue> | { [key: string]: PyValue };

export interface PyLiteralOptions {
  /** 'object' (default): dict → plain object, keys str()-ed like Python for int/float/bool/None. 'map': dict → Map. */
  dicts?: 'object' | 'map';
  /** Nesting limit; deeper input is rejected instead of overflowing the JS stack. Default 500. */
  maxDepth?: number;
}

/** Every parse failure is one of these: position, line/column (1-based) and what was expected. */
export class PyLiteralSyntaxError extends SyntaxError {
  constructor(readonly detail: string, readonly pos: number, readonly line: number, readonly column: number) {
    super(`Python literal: ${detail} at line ${line}, column ${column} (offset ${pos})`);
    this.name = 'PyLiteralSyntaxError';
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};
const ID_START = /[A-Za-z_\p{L}]/u;
const ID_CONT = /[A-Za-z0-9_\p{L}\p{N}\p{M}]/u;
const DIGITS: Record<number, RegExp> = { 2: /[01]/, 8: /[0-7]/, 10: /[0-9]/, 16: /[0-9a-fA-F]/ };

/** Parses one Python literal expression (as `ast.literal_eval(src)`) into a JS value. */
export function parsePyLiteral(src: string, options: PyLiteralOptions = {}): PyValue {
  return new Parser(src, options).parseTop();
}

class Parser {
  private pos = 0;
  private depth = 0; // bracket depth: newlines are only insignificant inside brackets, as in Python
  private readonly maxDepth: number;
  private readonly asMap: boolean;
  private lastWasFloat = false;

  constructor(private readonly src: string, opts: PyLiteralOptions) {
    this.maxDepth = opts.maxDepth ?? 500;
    this.asMap = opts.dicts === 'map';
  }

  parseTop(): PyValue {
    this.skipBlankLines();
    if (this.pos >= this.src.length) this.fail('expected a literal, found end of input');
    const first = this.parseExpr();
    this.skipWs();
    let value: PyValue = first;
    if (this.peek() === ',') {
      // eval mode accepts a bare tuple: `1, 2`
      const items = [first];
      while (this.peek() === ',') {
        this.pos++;
        this.skipWs();
        if (this.atEnd()) break;
        items.push(this.parseExpr());
        this.skipWs();
      }
      value = items;
    }
    this.skipBlankLines();
    if (this.pos < this.src.length) this.fail(`expected end of input, found ${this.describe()}`);
    return value;
  }

  // ---- lexical helpers ----

  private fail(detail: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    throw new PyLiteralSyntaxError(detail, at, line, at - lineStart + 1);
  }

  private peek(off = 0): string {
    return this.src[this.pos + off] ?? '';
  }

  /** At the end of the input, apart from blank lines and comments (which do not move `pos`). */
  private atEnd(): boolean {
    const save = this.pos;
    this.skipBlankLines();
    const end = this.pos >= this.src.length;
    this.pos = save;
    return end;
  }

  private describe(): string {
    if (this.pos >= this.src.length) return 'end of input';
    return JSON.stringify(this.src.slice(this.pos, this.pos + 12));
  }

  /** Spaces, tabs, form feeds, backslash-newline continuations; inside brackets also newlines and comments. */
  private skipWs(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\f') this.pos++;
      else if (c === '\\' && (this.peek(1) === '\n' || (this.peek(1) === '\r' && this.peek(2) === '\n'))) {
        this.pos += this.peek(1) === '\r' ? 3 : 2;
      } else if (this.depth > 0 && (c === '\n' || c === '\r')) this.pos++;
      else if (this.depth > 0 && c === '#') this.skipComment();
      else return;
    }
  }

  /** Leading/trailing blank lines and comments are ignored at the top level too. */
  private skipBlankLines(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\f' || c === '\n' || c === '\r') this.pos++;
      else if (c === '#') this.skipComment();
      else if (c === '\\' && this.peek(1) === '\n') this.pos += 2;
      else return;
    }
  }

  private skipComment(): void {
    while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
  }

  private expect(ch: string, what: string): void {
    this.skipWs();
    if (this.peek() !== ch) this.fail(`expected ${what}, found ${this.describe()}`);
    this.pos++;
  }

  // ---- grammar ----

  private parseExpr(): PyValue {
    this.skipWs();
    const c = this.peek();
    if (c === '') this.fail('expected a literal, found end of input');
    if (c === '[') return this.parseList();
    if (c === '(') return this.parseParen();
    if (c === '{') return this.parseBrace();
    if (c === '-' || c === '+') {
      // literal_eval accepts exactly one sign directly applied to a number
      this.pos++;
      this.skipWs();
      if (!/[0-9.]/.test(this.peek()) || (this.peek() === '.' && !/[0-9]/.test(this.peek(1)))) {
        this.fail(`expected a number after unary '${c}', found ${this.describe()}`);
      }
      const n = this.parseNumber();
      if (c === '+') return n;
      if (typeof n === 'bigint') return -n;
      // Python int -0 is 0; only a float literal gives -0.0
      if (n === 0 && !this.lastWasFloat) return 0;
      return -n;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(this.peek(1)))) return this.parseNumber();
    if (c === '"' || c === "'") return this.parseStrings();
    if (ID_START.test(c)) return this.parseNameOrPrefixedString();
    if (c === '.' && this.src.startsWith('...', this.pos)) this.fail('Ellipsis (...) is not supported');
    return this.fail(`expected a literal, found ${this.describe()}`);
  }

  private enter(): void {
    if (++this.depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
  }

  /** Comma-separated items up to `close`, trailing comma allowed. Returns the items and whether any comma was seen. */
  private parseSeq(close: string, what: string): { items: PyValue[]; comma: boolean } {
    const items: PyValue[] = [];
    let comma = false;
    this.skipWs();
    while (this.peek() !== close) {
      items.push(this.parseExpr());
      this.skipWs();
      if (this.peek() === ',') {
        comma = true;
        this.pos++;
        this.skipWs();
      } else if (this.peek() !== close) this.fail(`expected ',' or '${close}' in ${what}, found ${this.describe()}`);
    }
    this.pos++;
    return { items, comma };
  }

  private parseList(): PyValue {
    this.pos++;
    this.enter();
    const { items } = this.parseSeq(']', 'list');
    this.depth--;
    return items;
  }

  private parseParen(): PyValue {
    this.pos++;
    this.enter();
    const { items, comma } = this.parseSeq(')', 'tuple');
    this.depth--;
    // `(x)` is just x; `()` and `(x,)` are tuples (arrays here)
    return items.length === 1 && !comma ? items[0] : items;
  }

  private parseBrace(): PyValue {
    const open = this.pos;
    this.pos++;
    this.enter();
    this.skipWs();
    if (this.peek() === '}') {
      this.pos++;
      this.depth--;
      return this.asMap ? new Map() : {};
    }
    const firstKey = this.parseExpr();
    this.skipWs();
    if (this.peek() !== ':') {
      // a set display: {a, b}
      const set = new Set<PyValue>([firstKey]);
      if (this.peek() === ',') {
        this.pos++;
        for (const v of this.parseSeq('}', 'set').items) set.add(v);
      } else if (this.peek() === '}') this.pos++;
      else this.fail(`expected ':', ',' or '}' after the first item of '{' at offset ${open}, found ${this.describe()}`);
      this.depth--;
      return set;
    }
    const entries: [PyValue, PyValue][] = [];
    let key: PyValue = firstKey;
    for (;;) {
      this.expect(':', "':' after dict key");
      entries.push([key, this.parseExpr()]);
      this.skipWs();
      if (this.peek() === ',') {
        this.pos++;
        this.skipWs();
        if (this.peek() === '}') break;
      } else if (this.peek() === '}') break;
      else this.fail(`expected ',' or '}' in dict, found ${this.describe()}`);
      key = this.parseExpr();
    }
    this.pos++;
    this.depth--;
    return this.asMap ? new Map(entries) : this.toObject(entries, open);
  }

  private toObject(entries: [PyValue, PyValue][], at: number): PyValue {
    const obj: { [key: string]: PyValue } = {};
    // Python equality of keys: True == 1 == 1.0, so a later equal key updates the value under the first
    // key's name ({1: 'x', True: 'z'} → {1: 'z'})
    const nameOf = new Map<string, string>();
    for (const [k, v] of entries) {
      let name: string;
      let canon: string;
      if (typeof k === 'string') [name, canon] = [k, `s${k}`];
      else if (typeof k === 'number' || typeof k === 'bigint') [name, canon] = [String(k), `n${String(k)}`];
      else if (typeof k === 'boolean') [name, canon] = [k ? 'True' : 'False', k ? 'n1' : 'n0'];
      else if (k === null) [name, canon] = ['None', 'None'];
      else this.fail("dict key is not a string or number; parse with { dicts: 'map' }", at);
      name = nameOf.get(canon) ?? name;
      nameOf.set(canon, name);
      // defineProperty so a key like "__proto__" is stored as data, not as the prototype
      Object.defineProperty(obj, name, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return obj;
  }

  private parseNameOrPrefixedString(): PyValue {
    const start = this.pos;
    while (this.pos < this.src.length && ID_CONT.test(this.src[this.pos])) this.pos++;
    const name = this.src.slice(start, this.pos);
    const q = this.peek();
    if (q === '"' || q === "'") {
      const p = name.toLowerCase();
      if (p.includes('f')) this.fail('f-strings are not literals', start);
      if (['r', 'u', 'b', 'br', 'rb'].includes(p)) {
        this.pos = start;
        return this.parseStrings();
      }
      this.fail(`unknown string prefix '${name}'`, start);
    }
    if (name === 'True') return true;
    if (name === 'False') return false;
    if (name === 'None') return null;
    return this.fail(`expected a literal, found name '${name}'`, start);
  }

  // ---- numbers ----

  private digitRun(base: number, what: string): string {
    // digits with single underscores between them, as Python's grammar requires
    const re = DIGITS[base];
    const start = this.pos;
    if (!re.test(this.peek())) this.fail(`expected ${what}`);
    let out = '';
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (re.test(c)) {
        out += c;
        this.pos++;
      } else if (c === '_' && re.test(this.peek(1))) this.pos++;
      else break;
    }
    if (this.peek() === '_') this.fail(`invalid '_' in number starting at offset ${start}`);
    return out;
  }

  private parseNumber(): number | bigint {
    const start = this.pos;
    const c1 = this.peek(1).toLowerCase();
    let value: number | bigint;
    if (this.peek() === '0' && (c1 === 'x' || c1 === 'o' || c1 === 'b')) {
      this.pos += 2;
      if (this.peek() === '_') this.pos++;
      const base = c1 === 'x' ? 16 : c1 === 'o' ? 8 : 2;
      const digits = this.digitRun(base, `${c1 === 'x' ? 'hex' : c1 === 'o' ? 'octal' : 'binary'} digit`);
      value = toInt(BigInt(`0${c1}${digits}`));
      this.lastWasFloat = false;
    } else {
      let intPart = '';
      if (this.peek() !== '.') intPart = this.digitRun(10, 'digit');
      let isFloat = false;
      let text = intPart;
      if (this.peek() === '.') {
        isFloat = true;
        this.pos++;
        text += '.';
        if (/[0-9]/.test(this.peek())) text += this.digitRun(10, 'digit');
      }
      if (this.peek().toLowerCase() === 'e' && (/[0-9]/.test(this.peek(1)) || (/[+-]/.test(this.peek(1)) && /[0-9]/.test(this.peek(2))))) {
        isFloat = true;
        text += 'e';
        this.pos++;
        if (/[+-]/.test(this.peek())) text += this.src[this.pos++];
        text += this.digitRun(10, 'exponent digit');
      }
      this.lastWasFloat = isFloat;
      if (isFloat) value = Number(text);
      else {
        if (intPart.length > 1 && /^0+[1-9]/.test(intPart)) {
          this.fail('leading zeros in a decimal integer are not permitted (use 0o for octal)', start);
        }
        value = toInt(BigInt(intPart));
      }
    }
    const next = this.peek();
    if (next === 'j' || next === 'J') this.fail('complex numbers are not supported');
    if (next !== '' && ID_CONT.test(next)) this.fail(`invalid character ${JSON.stringify(next)} in number`);
    return value;
  }

  // ---- strings ----

  /** One or more adjacent string literals, concatenated as Python does ('a' "b" → 'ab'). */
  private parseStrings(): string | Uint8Array {
    const parts: (string | Uint8Array)[] = [];
    let isBytes: boolean | undefined;
    for (;;) {
      const litStart = this.pos;
      let prefix = '';
      while (/[rRbBuU]/.test(this.peek())) prefix += this.src[this.pos++].toLowerCase();
      const bytes = prefix.includes('b');
      if (isBytes !== undefined && bytes !== isBytes) this.fail('cannot mix bytes and str literals', litStart);
      isBytes = bytes;
      parts.push(this.parseOneString(prefix.includes('r'), bytes));
      const save = this.pos;
      this.skipWs();
      const c = this.peek();
      const prefixed = /^[rRbBuU]{1,2}['"]/.test(this.src.slice(this.pos, this.pos + 3)) && this.isPrefix();
      if (c === '"' || c === "'" || prefixed) continue;
      this.pos = save;
      break;
    }
    if (!isBytes) return (parts as string[]).join('');
    const total = parts.reduce((n, p) => n + (p as Uint8Array).length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts as Uint8Array[]) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }

  private isPrefix(): boolean {
    const m = /^[rRbBuU]{1,2}/.exec(this.src.slice(this.pos, this.pos + 2));
    return !!m && ['r', 'u', 'b', 'br', 'rb'].includes(m[0].toLowerCase());
  }

  private parseOneString(raw: boolean, bytes: boolean): string | Uint8Array {
    const q = this.peek();
    const start = this.pos;
    const triple = this.src.startsWith(q.repeat(3), this.pos);
    this.pos += triple ? 3 : 1;
    const chunks: string[] = [];
    let runStart = this.pos;
    const src = this.src;
    for (;;) {
      if (this.pos >= src.length) {
        this.fail(`unterminated ${triple ? 'triple-quoted ' : ''}string literal (expected closing ${triple ? q.repeat(3) : q})`, start);
      }
      const c = src[this.pos];
      if (c === q && (!triple || src.startsWith(q.repeat(3), this.pos))) {
        chunks.push(src.slice(runStart, this.pos));
        this.pos += triple ? 3 : 1;
        break;
      }
      if ((c === '\n' || c === '\r') && !triple) {
        this.fail(`unterminated string literal (newline before closing ${q})`, start);
      }
      if (bytes && c.charCodeAt(0) > 0x7f) this.fail('bytes can only contain ASCII literal characters');
      if (c !== '\\') {
        this.pos++;
        continue;
      }
      chunks.push(src.slice(runStart, this.pos));
      if (this.pos + 1 >= src.length) this.fail('unterminated string literal (backslash at end of input)', start);
      if (raw) {
        // raw: the backslash stays, but it still stops the next character from closing the string
        chunks.push(src.slice(this.pos, this.pos + 2));
        this.pos += 2;
      } else chunks.push(this.parseEscape(bytes));
      runStart = this.pos;
    }
    const text = chunks.join('');
    if (!bytes) return text;
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  /** At a backslash in a non-raw literal: returns the decoded text (bytes: chars 0–255) and advances. */
  private parseEscape(bytes: boolean): string {
    const at = this.pos;
    const e = this.src[this.pos + 1];
    if (e === '\r' && this.src[this.pos + 2] === '\n') {
      this.pos += 3;
      return '';
    }
    if (e in SIMPLE_ESCAPES) {
      this.pos += 2;
      return SIMPLE_ESCAPES[e];
    }
    if (/[0-7]/.test(e)) {
      let j = this.pos + 1;
      while (j < this.pos + 4 && /[0-7]/.test(this.src[j] ?? '')) j++;
      const code = parseInt(this.src.slice(this.pos + 1, j), 8);
      if (bytes && code > 0xff) this.fail('octal escape value > 0o377 in bytes', at);
      this.pos = j;
      return String.fromCharCode(code);
    }
    const hexLen = e === 'x' ? 2 : !bytes && e === 'u' ? 4 : !bytes && e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = this.src.slice(this.pos + 2, this.pos + 2 + hexLen);
      if (hex.length < hexLen || !/^[0-9a-fA-F]+$/.test(hex)) {
        this.fail(`truncated \\${e} escape: expected ${hexLen} hex digits`, at);
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) this.fail(`\\U escape out of range (0x${hex})`, at);
      this.pos += 2 + hexLen;
      return String.fromCodePoint(code);
    }
    if (e === 'N' && !bytes) this.fail('\\N{...} named escapes are not supported', at);
    // unknown escape: Python keeps the backslash and the character (with a warning)
    this.pos += 1;
    return '\\';
  }
}

function toInt(b: bigint): number | bigint {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

