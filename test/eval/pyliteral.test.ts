// Checks the Python-literal parser against CPython's ast.literal_eval: the expected values below were
// produced once by /tmp/gen/pycases.py (Python 3.11.7; hand-written tricky sources plus 40 random
// repr()s of nested values, seed 1234) and are stored here so the test needs no Python. Encoding of the
// expected JSON: {$bytes: [...]}, {$big: "digits"}, {$negzero: true}, {$dict: {...}}; tuples are arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePyLiteral, PyLiteralSyntaxError, type PyValue } from '../../src/eval/pyliteral.js';

const VALID: [string, unknown][] = [
  ["'it\\'s'", "it's"],
  ["\"say \\\"hi\\\"\"", "say \"hi\""],
  ["'a\\\\b'", "a\\b"],
  ["'\\n\\t\\r\\a\\b\\f\\v'", "\n\t\r\u0007\b\f\u000b"],
  ["'\\x41\\x7e\\xff'", "A~\u00ff"],
  ["'\\u00e9\\u2014\\ud83d'", "\u00e9\u2014\ud83d"],
  ["'\\U0001F600'", "\ud83d\ude00"],
  ["'\\101\\60\\0'", "A0\u0000"],
  ["'\\777'", "\u01ff"],
  ["'line1\\\nline2'", "line1line2"],
  ["'''tri'ple\n\"quoted\"'''", "tri'ple\n\"quoted\""],
  ["\"\"\"a\n''b\"\"\"", "a\n''b"],
  ["r'raw\\n\\'q'", "raw\\n\\'q"],
  ["R'C:\\dir\\x'", "C:\\dir\\x"],
  ["b'\\x00\\xffab\\n'", {"$bytes": [0, 255, 97, 98, 10]}],
  ["rb'\\x00'", {"$bytes": [92, 120, 48, 48]}],
  ["Br'\\\\'", {"$bytes": [92, 92]}],
  ["u'unicode'", "unicode"],
  ["'a' \"b\" 'c'", "abc"],
  ["('a'\n 'b')", "ab"],
  ["'\\d\\w unknown'", "\\d\\w unknown"],
  ["b'\\u1234'", {"$bytes": [92, 117, 49, 50, 51, 52]}],
  ["'\u00fcn\u00efc\u00f8d\u00e9 \u2713 \ud83d\ude00'", "\u00fcn\u00efc\u00f8d\u00e9 \u2713 \ud83d\ude00"],
  ["''", ""],
  ["\"\"", ""],
  ["''''''", ""],
  ["'\\\\\\\\'", "\\\\"],
  ["'\\''", "'"],
  ["\"\\'\"", "'"],
  ["'#not a comment'", "#not a comment"],
  ["[1, -2, +3, 0x1F, 0o17, 0b101, 1_000_000, 00, 0]", [1, -2, 3, 31, 15, 5, 1000000, 0, 0]],
  ["[1.5, .5, 5., 1e3, 1E-3, 2.5e+2, 1_0.0_1, -0.0]", [1.5, 0.5, 5.0, 1000.0, 0.001, 250.0, 10.01, {"$negzero": true}]],
  ["123456789012345678901234567890", {"$big": "123456789012345678901234567890"}],
  ["-9007199254740993", {"$big": "-9007199254740993"}],
  ["(1,)", [1]],
  ["()", []],
  ["(1)", 1],
  ["((1, 2), [3, (4,)])", [[1, 2], [3, [4]]]],
  ["{'a': 1, 'b': [True, False, None], 'c': {'d': ()}}", {"$dict": {"a": 1, "b": [true, false, null], "c": {"$dict": {"d": []}}}}],
  ["{1: 'x', 2.5: 'y', True: 'z', None: 'n'}", {"$dict": {"1": "z", "2.5": "y", "None": "n"}}],
  ["[1, 2, 3,]", [1, 2, 3]],
  ["{'k': 'v',}", {"$dict": {"k": "v"}}],
  ["{}", {"$dict": {}}],
  ["[]", []],
  ["[[[[[]]]]]", [[[[[]]]]]],
  [" [1 , 2 ] ", [1, 2]],
  ["[1, # comment\n 2]\n", [1, 2]],
  ["{'a': 1, 'a': 2}", {"$dict": {"a": 2}}],
  ["1, 2", [1, 2]],
  ["'x',", ["x"]],
  ["{'__proto__': 1, 'constructor': 2}", {"$dict": {"__proto__": 1, "constructor": 2}}],
  ["[\n1,\n2\n]", [1, 2]],
  ["- 5", -5],
  ["{}", {"$dict": {}}],
  ["'\ud83d\ude00'", "\ud83d\ude00"],
  ["'\"\"\"c #\\t\\'aaa\\t'", "\"\"\"c #\t'aaa\t"],
  ["{'cy': 30, \"'c'''\u2014\\x7fc\\u2028\": -906, '\u2014c\\ufeff\\\\': {\"'\\ufeffz\\x7f\": 'ca\\nx\"\"\"\u00e9\\'\\'\\'\\r', 'bc': {'\u2014': 65226252955348580154}}}", {"$dict": {"cy": 30, "'c'''\u2014\u007fc\u2028": -906, "\u2014c\ufeff\\": {"$dict": {"'\ufeffz\u007f": "ca\nx\"\"\"\u00e9'''\r", "bc": {"$dict": {"\u2014": {"$big": "65226252955348580154"}}}}}}}],
  ["3.14159", 3.14159],
  ["{}", {"$dict": {}}],
  ["('\"x', [{}])", ["\"x", [{"$dict": {}}]]],
  ["({'\\x7f\u00e9b\u00e9\\u2028y\\x7f\\\\x#': {' #y\\x00': True, ' \u00e9\\r\\'\\'\\'\"\\ufeffz\\t': '\"\"\"y\ud83d\ude00\"x\\\\x\\n\\x7f\\\\xcc'}, \"zb\\\\b'\u00df\": 923}, [{}, []])", [{"$dict": {"\u007f\u00e9b\u00e9\u2028y\u007f\\x#": {"$dict": {" #y\u0000": true, " \u00e9\r'''\"\ufeffz\t": "\"\"\"y\ud83d\ude00\"x\\x\n\u007f\\xcc"}}, "zb\\b'\u00df": 923}}, [{"$dict": {}}, []]]],
  ["(443,)", [443]],
  ["{'\\tz\u00df\"\"\"\\x00y\ud83d\ude00z\\\\b\\t\u2014': 1e+300}", {"$dict": {"\tz\u00df\"\"\"\u0000y\ud83d\ude00z\\b\t\u2014": 1e+300}}],
  ["{'xb': 1e-07, 'c\"\"\"\\nya\\'\\'\\'\\'\\'\\'b': -697}", {"$dict": {"xb": 1e-07, "c\"\"\"\nya''''''b": -697}}],
  ["True", true],
  ["([(1e+300, -2.5)], -2.5, -431)", [[[1e+300, -2.5]], -2.5, -431]],
  ["([], (None, ()), [b'\\x00\\xfe\\'\"', 1e+300, []])", [[], [null, []], [{"$bytes": [0, 254, 39, 34]}, 1e+300, []]]],
  ["-389", -389],
  ["(1e+300, {'\ud83d\ude00\\t\\ufeff\\u2028': [903]}, {\"a\\\\x\\x7f''' a\\t\u00e9cx\": [3.14159, -2.5], '\ud83d\ude00z\u00df\\\\x': [], '\"\"\"\\u2028z\\n\u00df\\n\\n\\x7f': []})", [1e+300, {"$dict": {"\ud83d\ude00\t\ufeff\u2028": [903]}}, {"$dict": {"a\\x\u007f''' a\t\u00e9cx": [3.14159, -2.5], "\ud83d\ude00z\u00df\\x": [], "\"\"\"\u2028z\n\u00df\n\n\u007f": []}}]],
  ["-474", -474],
  ["[\"b'''bz'''x\"]", ["b'''bz'''x"]],
  ["[(), [{\"\u00dfc\\ufeffa'''\": -2.5}, False]]", [[], [{"$dict": {"\u00dfc\ufeffa'''": -2.5}}, false]]],
  ["{'\\'\\'\\'x\u2014\\u2028\\u2028cx\u2014\\'\"\"\"': -2.5, '\u00df\"\"\"#\\r\\nx\"\"\"\u2014\ud83d\ude00\u2014\\u2028\\u2028': {}, \"c\\t#'''\\x00\": '\\u2028c\\n\\'\\u2028z\\t\u00df\"\"\"'}", {"$dict": {"'''x\u2014\u2028\u2028cx\u2014'\"\"\"": -2.5, "\u00df\"\"\"#\r\nx\"\"\"\u2014\ud83d\ude00\u2014\u2028\u2028": {"$dict": {}}, "c\t#'''\u0000": "\u2028c\n'\u2028z\t\u00df\"\"\""}}],
  ["('', {}, [[False], '\\t\ud83d\ude00\\t\\x00yc\\ufeffaz#z', -2.5])", ["", {"$dict": {}}, [[false], "\t\ud83d\ude00\t\u0000yc\ufeffaz#z", -2.5]]],
  ["3.14159", 3.14159],
  ["'\\x7f\\t\\u2028\\\\x\\t\\\\\\r\\x00#'", "\u007f\t\u2028\\x\t\\\r\u0000#"],
  ["[[]]", [[]]],
  ["[-928, None]", [-928, null]],
  ["3.14159", 3.14159],
  ["[[{'': False}], b'\\x00\\xfe\\'\"']", [[{"$dict": {"": false}}], {"$bytes": [0, 254, 39, 34]}]],
  ["[[{'\u00df\\x7f\\\\x\\\\x\\\\x\\t\\u2028': \"'''\u00df\\r\ud83d\ude00x \u00e9\u00e9 \u2014\u2014\", '#\"': -855, '\\r\\\\\"\"\"\u00df\\t': False}, {'\\x7f\u00df \u2014\\x7f': 'z', '\\u2028\\n': 423, '\"ay': -2.5}, -13675771846912979391]]", [[{"$dict": {"\u00df\u007f\\x\\x\\x\t\u2028": "'''\u00df\r\ud83d\ude00x \u00e9\u00e9 \u2014\u2014", "#\"": -855, "\r\\\"\"\"\u00df\t": false}}, {"$dict": {"\u007f\u00df \u2014\u007f": "z", "\u2028\n": 423, "\"ay": -2.5}}, {"$big": "-13675771846912979391"}]]],
  ["([(b'\\x00\\xfe\\'\"',), '\\u2028\\u2028\\\\\"\"\"'], [1e-07])", [[[{"$bytes": [0, 254, 39, 34]}], "\u2028\u2028\\\"\"\""], [1e-07]]],
  ["{'\u00df\\n\u00df\"\\x00\\r': [[1e-07], 1e+300, 0.1], '\ud83d\ude00\u2014\\t': b'\\x00\\xfe\\'\"', 'a\u2014\\r#c\"\"\"\"\"\"': 99711230676192786627}", {"$dict": {"\u00df\n\u00df\"\u0000\r": [[1e-07], 1e+300, 0.1], "\ud83d\ude00\u2014\t": {"$bytes": [0, 254, 39, 34]}, "a\u2014\r#c\"\"\"\"\"\"": {"$big": "99711230676192786627"}}}],
  ["(([True, 0.1],), 1e-07, 1e+300)", [[[true, 0.1]], 1e-07, 1e+300]],
  ["(3.14159,)", [3.14159]],
  ["640", 640],
  ["[[{\"yc\\x7f'\\x7f\": -454, '\\ufeff\u2014': 1e-07}, (-701,), None]]", [[{"$dict": {"yc\u007f'\u007f": -454, "\ufeff\u2014": 1e-07}}, [-701], null]]],
  ["()", []],
  ["[True]", [true]],
  ["\"\\x7f''''#a\"", "\u007f''''#a"],
  ["({\"\\ufeff\ud83d\ude00\u00df'#\": {'\ud83d\ude00aa\\\\\"\"\"\ud83d\ude00 ': False, '\\x00zb\\x00\\r ': False}, '\\u2028c': [49], 'bx\"\\'\\'\\'\u00dfa': []}, [], '\u00e9a\"\"\"#\\\\y')", [{"$dict": {"\ufeff\ud83d\ude00\u00df'#": {"$dict": {"\ud83d\ude00aa\\\"\"\"\ud83d\ude00 ": false, "\u0000zb\u0000\r ": false}}, "\u2028c": [49], "bx\"'''\u00dfa": []}}, [], "\u00e9a\"\"\"#\\y"]],
  ["b'\\x00\\xfe\\'\"'", {"$bytes": [0, 254, 39, 34]}],
  ["\"'\\x7f\\x7fy\"", "'\u007f\u007fy"],
];
const INVALID: string[] = [
  "'unterminated",
  "[1, 2",
  "{'a' 1}",
  "{'a': }",
  "[1 2]",
  "1 +",
  "--1",
  "foo",
  "f'x'",
  "'a' b'b'",
  "'\\x4'",
  "'\\u12'",
  "'\\U00110000'",
  "012",
  "1__0",
  "1_",
  "0x",
  "'a\nb'",
  "b'\u00e9'",
  "[1,,2]",
  "(,)",
  "{,}",
  "",
  "   ",
  "1 2",
  "'x' 5",
  "[1]]",
  "{'a': 1",
  "'''abc''",
  "r'\\'",
  "1.5.2",
  "True False",
  "[1,\n",
  "{'a': 1 'b': 2}",
  "x'1'",
  "bu'x'",
  "-'a'",
  "+True",
];
// valid in Python, rejected here on purpose (complex, \N{...}, Ellipsis, bytes octal > 0o377)
const UNSUPPORTED: string[] = ["1j", "1+2j", "'\\N{BULLET}'", "...", "b'\\777'"];

function enc(v: PyValue): unknown {
  if (v instanceof Uint8Array) return { $bytes: [...v] };
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (typeof v === 'number' && Object.is(v, -0)) return { $negzero: true };
  if (Array.isArray(v)) return v.map(enc);
  if (v instanceof Set || v instanceof Map) throw new Error('not expected in these cases');
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = enc(x);
    return { $dict: o };
  }
  return v;
}

test('pyliteral matches ast.literal_eval on tricky and random literals', () => {
  for (const [src, expected] of VALID) {
    assert.deepEqual(enc(parsePyLiteral(src)), expected, `source: ${JSON.stringify(src)}`);
  }
});

test('pyliteral rejects what ast.literal_eval rejects, with its own error class and a position', () => {
  for (const src of [...INVALID, ...UNSUPPORTED]) {
    assert.throws(
      () => parsePyLiteral(src),
      (e: unknown) => e instanceof PyLiteralSyntaxError && e instanceof SyntaxError && e.line >= 1 && e.column >= 1,
      `source: ${JSON.stringify(src)}`,
    );
  }
});

test('pyliteral error messages name the position and what was expected', () => {
  assert.throws(() => parsePyLiteral("{'a': 1,\n 'b' 2}"), /expected ':' after dict key, found "2}" at line 2, column 6/);
  assert.throws(() => parsePyLiteral("['x', 'y"), /unterminated string literal \(expected closing '\) at line 1, column 7/);
  assert.throws(() => parsePyLiteral('[1, foo]'), /found name 'foo'/);
  assert.throws(() => parsePyLiteral("'\\N{BULLET}'"), /\\N\{\.\.\.\} named escapes are not supported/);
  assert.throws(() => parsePyLiteral('1j'), /complex numbers are not supported/);
});

test('pyliteral options: dicts as Map, sets, deep nesting bounded', () => {
  const m = parsePyLiteral("{(1, 2): 'a', 'k': {3}}", { dicts: 'map' }) as Map<PyValue, PyValue>;
  assert.ok(m instanceof Map);
  assert.deepEqual([...m.keys()], [[1, 2], 'k']);
  assert.deepEqual(m.get('k'), new Set([3]));
  assert.throws(() => parsePyLiteral("{(1, 2): 'a'}"), /dicts: 'map'/);
  assert.throws(() => parsePyLiteral('['.repeat(100_000)), PyLiteralSyntaxError);
  assert.deepEqual(parsePyLiteral('[[[1]]]', { maxDepth: 3 }), [[[1]]]);
  assert.throws(() => parsePyLiteral('[[[[1]]]]', { maxDepth: 3 }), /nesting deeper than 3/);
  const o = parsePyLiteral("{'__proto__': 1}") as Record<string, PyValue>;
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.equal(o['__proto__' as string], 1);
});

test('pyliteral fuzz: truncations and mutations parse or throw PyLiteralSyntaxError, quickly', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const alphabet = [..."'\"\\[](){}:,#\n xbr0123456789.-+eEjuUN_"];
  const t0 = Date.now();
  let parsed = 0;
  let rejected = 0;
  for (const [src] of VALID) {
    const variants = [];
    for (let cut = 0; cut < src.length; cut += Math.max(1, Math.floor(src.length / 8))) variants.push(src.slice(0, cut));
    for (let k = 0; k < 20; k++) {
      const chars = [...src];
      const at = Math.floor(rnd() * (chars.length + 1));
      const op = rnd();
      const c = alphabet[Math.floor(rnd() * alphabet.length)];
      if (op < 0.4) chars.splice(at, 1);
      else if (op < 0.7) chars.splice(at, 0, c);
      else chars[at] = c;
      variants.push(chars.join(''));
    }
    for (const v of variants) {
      try {
        parsePyLiteral(v);
        parsed++;
      } catch (e) {
        if (!(e instanceof PyLiteralSyntaxError)) assert.fail(`non-syntax error ${String(e)} for ${JSON.stringify(v)}`);
        rejected++;
      }
    }
  }
  assert.ok(parsed > 0 && rejected > 0);
  assert.ok(Date.now() - t0 < 5000, 'fuzzing took too long');
});
