import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { matchesSelector, parseSelector, validateSelector, type Labels } from '../../../src/api/selector.js';
import { SelectorParseError } from '../../../src/errors.js';

type Case = [selector: string, labels: Labels, expected: boolean];

function table(title: string, cases: Case[]): void {
  for (const [selector, labels, expected] of cases) {
    test(`${title}: ${selector} on ${JSON.stringify(labels)} is ${expected}`, () => {
      assert.equal(parseSelector(selector).matches(labels), expected);
    });
  }
}

table('operators', [
  ['all()', {}, true],
  ['all()', { a: 'x' }, true],
  ['', { a: 'x' }, true],
  ["a == 'x'", { a: 'x' }, true],
  ["a == 'x'", { a: 'y' }, false],
  ["a == ''", { a: '' }, true],
  ["a != 'x'", { a: 'y' }, true],
  ["a != 'x'", { a: 'x' }, false],
  ['has(a)', { a: '' }, true],
  ['has(a)', { b: 'x' }, false],
  ['!has(a)', { a: 'x' }, false],
  ['!has(a)', { b: 'x' }, true],
  ["a in {'x', 'y'}", { a: 'y' }, true],
  ["a in {'x', 'y'}", { a: 'z' }, false],
  ['a in {}', { a: 'x' }, false],
  ["a not in {'x', 'y'}", { a: 'z' }, true],
  ["a not in {'x', 'y'}", { a: 'x' }, false],
  ['a not in {}', { a: 'x' }, true],
  ["a contains 'ell'", { a: 'hello' }, true],
  ["a contains 'xyz'", { a: 'hello' }, false],
  ["a contains ''", { a: 'hello' }, true],
  ["a starts with 'he'", { a: 'hello' }, true],
  ["a starts with 'lo'", { a: 'hello' }, false],
  ["a ends with 'lo'", { a: 'hello' }, true],
  ["a ends with 'he'", { a: 'hello' }, false],
  ["!a == 'x'", { a: 'x' }, false],
  ["!a == 'x'", { a: 'y' }, true],
  ["a == 'x' && b == 'y'", { a: 'x', b: 'y' }, true],
  ["a == 'x' && b == 'y'", { a: 'x', b: 'z' }, false],
  ["a == 'x' || b == 'y'", { a: 'z', b: 'y' }, true],
  ["a == 'x' || b == 'y'", { a: 'z', b: 'z' }, false],
]);

// Negative operators match when the label is absent; positive ones never do.
table('absent label', [
  ["a == 'x'", {}, false],
  ["a != 'x'", {}, true],
  ["a in {'x'}", {}, false],
  ['a in {}', {}, false],
  ["a not in {'x'}", {}, true],
  ['a not in {}', {}, true],
  ["a contains ''", {}, false],
  ["a starts with ''", {}, false],
  ["a ends with ''", {}, false],
  ['has(a)', {}, false],
  ['!has(a)', {}, true],
  ["!a == 'x'", {}, true],
  ["!a contains 'x'", {}, true],
]);

table('precedence', [
  // && binds tighter than ||: read as a=='x' || (b=='y' && c=='z').
  ["a == 'x' || b == 'y' && c == 'z'", { a: 'x' }, true],
  ["a == 'x' || b == 'y' && c == 'z'", { b: 'y' }, false],
  ["a == 'x' || b == 'y' && c == 'z'", { b: 'y', c: 'z' }, true],
  ["b == 'y' && c == 'z' || a == 'x'", { a: 'x' }, true],
  // Parentheses override.
  ["(a == 'x' || b == 'y') && c == 'z'", { a: 'x' }, false],
  ["(a == 'x' || b == 'y') && c == 'z'", { a: 'x', c: 'z' }, true],
  // ! applies to the next term only.
  ['!has(a) && has(b)', {}, false],
  ['!has(a) && has(b)', { b: '1' }, true],
  ['!has(a) || has(b)', { a: '1', b: '1' }, true],
  ['!(has(a) || has(b))', { a: '1', b: '1' }, false],
  ['!(has(a) || has(b))', {}, true],
  ['!!has(a)', { a: '1' }, true],
  ['!(!has(a))', { a: '1' }, true],
]);

table('keys with dots, slashes and keyword names', [
  ["projectcalico.org/namespace == 'default'", { 'projectcalico.org/namespace': 'default' }, true],
  ["projectcalico.org/namespace == 'default'", { namespace: 'default' }, false],
  ["kubernetes.io/hostname in {'n1', 'n2'}", { 'kubernetes.io/hostname': 'n2' }, true],
  ['has(projectcalico.org/orchestrator)', { 'projectcalico.org/orchestrator': 'k8s' }, true],
  ["app.kubernetes.io/name starts with 'web'", { 'app.kubernetes.io/name': 'web-1' }, true],
  ["my_label-1 == '2'", { 'my_label-1': '2' }, true],
  ["contains == 'x'", { contains: 'x' }, true],
  ["has == 'x'", { has: 'x' }, true],
  ["in in {'x'}", { in: 'x' }, true],
  ["not not in {'x'}", { not: 'y' }, true],
  // Only own labels count, not Object.prototype members.
  ['has(constructor)', {}, false],
  ["toString == 'x'", {}, false],
  ["__proto__ != 'x'", {}, true],
]);

test('both quote styles', () => {
  const labels = { a: 'x' };
  assert.equal(parseSelector(`a == "x"`).matches(labels), true);
  assert.equal(parseSelector(`a == 'x'`).matches(labels), true);
  assert.equal(parseSelector(`a == 'say "hi"'`).matches({ a: 'say "hi"' }), true);
  assert.equal(parseSelector(`a == "it's"`).matches({ a: "it's" }), true);
  assert.equal(parseSelector(`a in {"x", 'y'}`).toString(), 'a in {"x", "y"}');
});

test('whitespace is free', () => {
  const variants = [
    "a=='x'&&!has(b)||c in{'p','q'}",
    "  a  ==  'x'  &&  ! has( b )  ||  c  in  { 'p' , 'q' }  ",
    "\ta\t==\t'x'\t&&\t!has(b)||c in {'p','q'}\t",
  ];
  for (const v of variants) {
    assert.equal(parseSelector(v).toString(), '((a == "x" && !has(b)) || c in {"p", "q"})', v);
  }
});

// tokenizer.go: `whitespace = " \t"`; anything else between tokens is an unexpected character.
test('only space and tab are whitespace, as in Calico', () => {
  for (const v of ["a == 'x'\n", "a\n== 'x'", "a ==\r\n'x'"]) {
    assert.throws(() => parseSelector(v), SelectorParseError, JSON.stringify(v));
  }
});

// tokenizer.go: after a label the operator is matched by prefix, so the one-word forms work.
test('one-word startswith, endswith and notin', () => {
  assert.equal(parseSelector("a startswith 'x'").toString(), 'a starts with "x"');
  assert.equal(parseSelector("a endswith 'x'").toString(), 'a ends with "x"');
  assert.equal(parseSelector("a notin {'x'}").toString(), 'a not in {"x"}');
  assert.equal(parseSelector("a contains'x'").toString(), 'a contains "x"');
});

// tokenizer.go LabelKeyMatcher `[a-zA-Z0-9_./-]{1,512}`: 512 characters is a label, 513 is not.
test('labels are at most 512 characters', () => {
  assert.equal(parseSelector(`${'a'.repeat(512)} == 'v'`).matches({ ['a'.repeat(512)]: 'v' }), true);
  assert.throws(() => parseSelector(`${'a'.repeat(513)} == 'v'`), SelectorParseError);
});

// parser_test.go selectorTests[25..27]: global() parses and matches any labels.
test('global() matches everything and prints as global()', () => {
  for (const s of ['global()', ' global()', 'global( )']) {
    const sel = parseSelector(s);
    assert.equal(sel.matches({}), true);
    assert.equal(sel.matches({ a: 'b' }), true);
    assert.equal(sel.toString(), 'global()');
  }
});

const canonical: [string, string][] = [
  ['', 'all()'],
  ['   ', 'all()'],
  ['all()', 'all()'],
  ["a=='x'", 'a == "x"'],
  ["a != 'x'", 'a != "x"'],
  [`a == 'say "hi"'`, `a == 'say "hi"'`],
  ['has( a )', 'has(a)'],
  ['!has(a)', '!has(a)'],
  ['!!has(a)', 'has(a)'],
  ['((has(a)))', 'has(a)'],
  ["a in {'b','a','b',}", 'a in {"a", "b"}'],
  ['a not in {}', 'a not in {}'],
  ["a  starts   with 'x'", 'a starts with "x"'],
  ["a ends with 'x'", 'a ends with "x"'],
  ["a contains 'x'", 'a contains "x"'],
  ['has(a) && has(b) && has(c)', '(has(a) && has(b) && has(c))'],
  ['(has(a) && has(b)) && has(c)', '((has(a) && has(b)) && has(c))'],
  ["a == 'x' || b == 'y' && c == 'z'", '(a == "x" || (b == "y" && c == "z"))'],
  ['!(has(a) || has(b))', '!(has(a) || has(b))'],
  ["!a == 'x'", '!a == "x"'],
];

for (const [input, expected] of canonical) {
  test(`canonical: ${JSON.stringify(input)} -> ${expected}`, () => {
    const sel = parseSelector(input);
    assert.equal(sel.toString(), expected);
    assert.equal(String(sel), expected);
    // Round trip: the canonical form parses to the same canonical form.
    assert.equal(parseSelector(expected).toString(), expected);
    assert.deepEqual(parseSelector(expected).ast, sel.ast);
  });
}

test('AST shape reflects precedence', () => {
  const { ast } = parseSelector("a == 'x' || b == 'y' && !c == 'z'");
  assert.deepEqual(ast, {
    kind: 'or',
    operands: [
      { kind: 'eq', label: 'a', value: 'x' },
      {
        kind: 'and',
        operands: [
          { kind: 'eq', label: 'b', value: 'y' },
          { kind: 'not', operand: { kind: 'eq', label: 'c', value: 'z' } },
        ],
      },
    ],
  });
});

const malformed: [selector: string, column: number, reason: RegExp][] = [
  ["a == 'x", 6, /unterminated string/],
  [`a == "x'`, 6, /unterminated string/],
  ["a = 'x'", 3, /expected '=='/],
  ['has(a) & has(b)', 8, /expected '&&'/],
  ['has(a) | has(b)', 8, /expected '\|\|'/],
  ["a == 'x' # b", 10, /unexpected character "#"/],
  ["ä == 'x'", 1, /unexpected character/],
  ['a', 2, /expected an operator .* after label 'a', found end of selector/],
  ["a foo 'x'", 3, /expected an operator .* found 'foo'/],
  ["a ! 'x'", 3, /expected an operator .* found '!'/],
  ['a == x', 6, /expected a quoted string after '=='/],
  ["a starts 'x'", 10, /expected 'with' after 'starts'/],
  ["a not {'x'}", 7, /expected 'in' after 'not'/],
  ["a in 'x'", 6, /expected '\{' after 'in'/],
  ["a in {'x'", 10, /missing '\}'/],
  ["a in {'x' 'y'}", 11, /expected a quoted string, ',' or '\}'/],
  ['a in {,}', 7, /expected a quoted string, ',' or '\}'/],
  ["(a == 'x'", 10, /missing '\)' to close '\(' at column 1/],
  ["(a == 'x' b", 11, /missing '\)'/],
  ["a == 'x')", 9, /unexpected '\)' after end of expression/],
  ["a == 'x' b", 10, /after end of expression/],
  ['()', 2, /empty expression/],
  ["a == 'x' &&", 12, /unexpected end of selector, expected an expression/],
  ["a == 'x' || || b == 'y'", 13, /expected an expression, found '\|\|'/],
  ['!', 2, /unexpected end of selector/],
  ["'x'", 1, /expected an expression, found string "x"/],
  ['has()', 5, /expected a label name in has\(\)/],
  ['has(a', 6, /missing '\)' after has\(/],
  ['all(x)', 5, /missing '\)' after all\(/],
  ['global(', 8, /missing '\)' after global\(/],
];

for (const [selector, column, reason] of malformed) {
  test(`malformed: ${JSON.stringify(selector)} fails at column ${column}`, () => {
    assert.throws(
      () => validateSelector(selector),
      (err: unknown) => {
        assert.ok(err instanceof SelectorParseError, `not a SelectorParseError: ${String(err)}`);
        assert.equal(err.code, 'SELECTOR_PARSE');
        assert.equal(err.selector, selector);
        assert.equal(err.column, column, err.reason);
        assert.match(err.reason, reason);
        return true;
      },
    );
  });
}

test('deep nesting is a parse error, not a stack overflow', () => {
  const ok = `${'('.repeat(200)}has(a)${')'.repeat(200)}`;
  assert.equal(parseSelector(ok).toString(), 'has(a)');
  const deep = `${'('.repeat(100_000)}has(a)${')'.repeat(100_000)}`;
  assert.throws(() => parseSelector(deep), (err: unknown) => err instanceof SelectorParseError && err.column === 257);
});

test('validateSelector accepts valid selectors', () => {
  assert.doesNotThrow(() => validateSelector("projectcalico.org/namespace == 'default' && !has(x)"));
  assert.doesNotThrow(() => validateSelector(''));
});

test('matchesSelector parses once and reuses the result', () => {
  const sel = "role in {'db', 'cache'} && env != 'prod'";
  assert.equal(matchesSelector(sel, { role: 'db' }), true);
  assert.equal(matchesSelector(sel, { role: 'db', env: 'prod' }), false);
  // Enough distinct selectors to force eviction; results must stay right.
  for (let i = 0; i < 600; i++) {
    assert.equal(matchesSelector(`n == '${i % 300}'`, { n: String(i % 300) }), true);
  }
  assert.equal(matchesSelector(sel, { role: 'cache' }), true);
  assert.throws(() => matchesSelector('a ==', {}), SelectorParseError);
});

// ---- properties ----

const keyArb = fc.constantFrom('a', 'b', 'projectcalico.org/ns');
const valueArb = fc.constantFrom('', 'x', 'y', 'xy', 'say "hi"');
const labelsArb = fc.dictionary(keyArb, valueArb);

// Any value can be written with whichever quote it does not contain.
const quoteArb = (v: string): fc.Arbitrary<string> =>
  v.includes('"') ? fc.constant(`'${v}'`) : fc.constantFrom(`'${v}'`, `"${v}"`);

interface Expr {
  text: string;
  /** 3 = term, 2 = &&, 1 = ||; used to add only the parentheses precedence requires. */
  prec: number;
  /** Independent oracle for what the text means. */
  ev: (labels: Labels) => boolean;
}

const get = (l: Labels, k: string): string | undefined => (Object.hasOwn(l, k) ? l[k] : undefined);

const valueOps: [string, (v: string, want: string) => boolean, boolean][] = [
  ['==', (v, w) => v === w, false],
  ['!=', (v, w) => v !== w, true],
  ['contains', (v, w) => v.includes(w), false],
  ['starts with', (v, w) => v.startsWith(w), false],
  ['ends with', (v, w) => v.endsWith(w), false],
];

const termArb: fc.Arbitrary<Expr> = fc.oneof(
  fc.constant<Expr>({ text: 'all()', prec: 3, ev: () => true }),
  keyArb.map<Expr>((k) => ({ text: `has(${k})`, prec: 3, ev: (l) => get(l, k) !== undefined })),
  fc
    .tuple(keyArb, fc.constantFrom(...valueOps), valueArb)
    .chain(([k, [op, fn, absent], v]) =>
      quoteArb(v).map<Expr>((q) => ({
        text: `${k} ${op} ${q}`,
        prec: 3,
        ev: (l) => {
          const got = get(l, k);
          return got === undefined ? absent : fn(got, v);
        },
      })),
    ),
  fc.tuple(keyArb, fc.boolean(), fc.subarray(['', 'x', 'y', 'say "hi"'])).map<Expr>(([k, negate, vs]) => ({
    text: `${k} ${negate ? 'not in' : 'in'} {${vs.map((v) => (v.includes('"') ? `'${v}'` : `"${v}"`)).join(', ')}}`,
    prec: 3,
    ev: (l) => {
      const got = get(l, k);
      return got === undefined ? negate : vs.includes(got) !== negate;
    },
  })),
);

const wrap = (e: Expr, min: number): string => (e.prec < min ? `(${e.text})` : e.text);

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    termArb,
    tie('expr').map<Expr>((e) => ({ text: `!${wrap(e, 3)}`, prec: 3, ev: (l) => !e.ev(l) })),
    tie('expr').map<Expr>((e) => ({ text: `(${e.text})`, prec: 3, ev: e.ev })),
    fc.tuple(tie('expr'), tie('expr')).map<Expr>(([a, b]) => ({
      text: `${wrap(a, 2)} && ${wrap(b, 2)}`,
      prec: 2,
      ev: (l) => a.ev(l) && b.ev(l),
    })),
    fc.tuple(tie('expr'), tie('expr')).map<Expr>(([a, b]) => ({
      text: `${a.text} || ${b.text}`,
      prec: 1,
      ev: (l) => a.ev(l) || b.ev(l),
    })),
  ),
})).expr;

test('property: minimally parenthesised expressions evaluate like the oracle', () => {
  fc.assert(
    fc.property(exprArb, labelsArb, (e, labels) => {
      assert.equal(parseSelector(e.text).matches(labels), e.ev(labels), e.text);
    }),
    { numRuns: 1000 },
  );
});

test('property: a || b == !(!a && !b) (De Morgan)', () => {
  fc.assert(
    fc.property(termArb, termArb, labelsArb, (a, b, labels) => {
      const or = parseSelector(`${a.text} || ${b.text}`).matches(labels);
      const viaAnd = parseSelector(`!( !${a.text} && !${b.text} )`).matches(labels);
      assert.equal(or, viaAnd);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(exprArb, exprArb, labelsArb, (a, b, labels) => {
      const or = parseSelector(`(${a.text}) || (${b.text})`).matches(labels);
      const viaAnd = parseSelector(`!(!(${a.text}) && !(${b.text}))`).matches(labels);
      assert.equal(or, viaAnd);
    }),
    { numRuns: 500 },
  );
});

// Like Calico, `!(!x)` prints as `!!x`, which reparses as `x`; so the canonical text is
// equivalent at once and a fixed point after one reparse.
function assertRoundTrip(text: string, labels: Labels = {}): void {
  const sel = parseSelector(text);
  const again = parseSelector(sel.toString());
  assert.equal(again.matches(labels), sel.matches(labels), text);
  assert.equal(parseSelector(again.toString()).toString(), again.toString(), text);
}

test('canonical: double negation through parentheses', () => {
  assert.equal(parseSelector('!(!has(a))').toString(), '!!has(a)');
  assert.equal(parseSelector('!!has(a)').toString(), 'has(a)');
});

test('property: canonical form round trips', () => {
  fc.assert(
    fc.property(exprArb, labelsArb, (e, labels) => assertRoundTrip(e.text, labels)),
    { numRuns: 500 },
  );
});

// Fragments of real syntax reach deeper into the parser than uniformly random text.
const PIECES = ['a', 'b.c/d', ' ', '==', '=', '!=', '!', '&&', '&', '||', '(', ')', '{', '}', ',', "'x'", '"', "'"];
const WORDS = ['in', 'not', 'contains', 'starts', 'with', 'ends', 'has(', 'all()', 'global()', '#', 'é'];
const soupArb = fc.array(fc.constantFrom(...PIECES, ...WORDS)).map((parts) => parts.join(''));

test('property: parse throws only SelectorParseError, with a column inside the text', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), soupArb), (text) => {
      try {
        assertRoundTrip(text);
      } catch (err) {
        if (!(err instanceof SelectorParseError)) throw err;
        assert.ok(err.column >= 1 && err.column <= text.length + 1, `column ${err.column} for ${JSON.stringify(text)}`);
      }
    }),
    { numRuns: 3000 },
  );
});
