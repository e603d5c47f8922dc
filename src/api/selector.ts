// Calico v3 label selectors (libcalico-go/lib/selector): tokenizer, recursive-descent parser,
// evaluator and Calico's canonical string form. The tokenizer follows
// libcalico-go/lib/selector/tokenizer/tokenizer.go: only space and tab are whitespace, a label
// is at most 512 characters of [a-zA-Z0-9_./-], and the word after a label must start with an
// operator (`contains`, `starts`/`ends` + `with`, `not` + `in`, `in`), so the one-word
// `startswith`, `endswith` and `notin` are operators too.
//
// Grammar, loosest binding first (parser/parser.go):
//   or   := and ('||' and)*
//   and  := unary ('&&' unary)*
//   unary:= '!'* primary
//   primary := 'all()' | 'global()' | 'has(' label ')' | label op value | '(' or ')'

import { SelectorParseError } from '../errors.js';

export type Labels = Readonly<Record<string, string>>;

export type ValueOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

export type SelectorNode =
  | { kind: 'all' }
  | { kind: 'global' }
  | { kind: 'has'; label: string }
  | { kind: ValueOp; label: string; value: string }
  | { kind: 'in' | 'notIn'; label: string; values: string[] }
  | { kind: 'not'; operand: SelectorNode }
  | { kind: 'and' | 'or'; operands: SelectorNode[] };

export interface Selector {
  /** The text that was parsed. */
  readonly source: string;
  readonly ast: SelectorNode;
  matches(labels: Labels): boolean;
  /** Calico's canonical form, e.g. `(a == "x" && has(b))`. */
  toString(): string;
}

// ---- tokenizer ----

type OpKind = '==' | '!=' | 'contains' | 'starts with' | 'ends with' | 'in' | 'not in';
type TokenKind = 'label' | 'string' | 'has' | 'all' | 'global' | OpKind | '(' | ')' | '{' | '}' | ',' | '!' | '&&' | '||' | 'eof';
interface Token {
  kind: TokenKind;
  /** Label name or string contents (without quotes); raw text otherwise. */
  value: string;
  /** 1-based column of the token's first character. */
  col: number;
}

/** tokenizer.go LabelKeyMatcher: `[a-zA-Z0-9_./-]{1,512}`. */
const MAX_LABEL_LENGTH = 512;
const LABEL = new RegExp(`^[a-zA-Z0-9_./-]{1,${MAX_LABEL_LENGTH}}`);
const SPACE = /^[ \t]*/;
// Operators recognised right after a label, by prefix as tokenizer.go does.
const AFTER_LABEL: [first: string, second: string | undefined, kind: OpKind][] = [
  ['contains', undefined, 'contains'],
  ['starts', 'with', 'starts with'],
  ['ends', 'with', 'ends with'],
  ['not', 'in', 'not in'],
  ['in', undefined, 'in'],
];
const PUNCT: Record<string, TokenKind> = { '(': '(', ')': ')', '{': '{', '}': '}', ',': ',' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const fail = (i: number, reason: string): never => {
    throw new SelectorParseError(text, i + 1, reason);
  };
  const skip = (i: number): number => i + SPACE.exec(text.slice(i))![0].length;
  let i = skip(0);
  while (i < text.length) {
    const c = text[i]!;
    const rest = text.slice(i);
    const last = tokens[tokens.length - 1]?.kind;
    const push = (kind: TokenKind, value: string, length: number): void => {
      tokens.push({ kind, value, col: i + 1 });
      i += length;
    };
    if (PUNCT[c]) {
      push(PUNCT[c]!, c, 1);
    } else if (c === '"' || c === "'") {
      // Calico strings have no escapes: everything up to the matching quote.
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(i, 'unterminated string');
      push('string', text.slice(i + 1, end), end - i + 1);
    } else if (c === '=' || c === '&' || c === '|') {
      if (text[i + 1] !== c) fail(i, `expected '${c}${c}', found single '${c}'`);
      push(c === '=' ? '==' : c === '&' ? '&&' : '||', c + c, 2);
    } else if (c === '!') {
      if (text[i + 1] === '=') push('!=', '!=', 2);
      else push('!', '!', 1);
    } else if (last === 'label') {
      const op = AFTER_LABEL.find(([first]) => rest.startsWith(first));
      if (!op) {
        const found = LABEL.exec(rest)?.[0] ?? c;
        const ops = '==, !=, in, not in, contains, starts with, ends with';
        return fail(i, `expected an operator (${ops}) after label '${tokens[tokens.length - 1]!.value}', found '${found}'`);
      }
      const [first, second, kind] = op;
      let j = i + first.length;
      if (second !== undefined) {
        j = skip(j);
        if (!text.startsWith(second, j)) fail(j, `expected '${second}' after '${first}'`);
        j += second.length;
      }
      tokens.push({ kind, value: kind, col: i + 1 });
      i = j;
    } else if (rest.startsWith('has(')) {
      let j = skip(i + 4);
      const label = LABEL.exec(text.slice(j))?.[0];
      if (label === undefined) fail(j, 'expected a label name in has()');
      j = skip(j + label!.length);
      if (text[j] !== ')') fail(j, "missing ')' after has(");
      tokens.push({ kind: 'has', value: label!, col: i + 1 });
      i = j + 1;
    } else if (rest.startsWith('all(') || rest.startsWith('global(')) {
      const name = rest.startsWith('all(') ? 'all' : 'global';
      const j = skip(i + name.length + 1);
      if (text[j] !== ')') fail(j, `missing ')' after ${name}(`);
      tokens.push({ kind: name, value: `${name}()`, col: i + 1 });
      i = j + 1;
    } else {
      const label = LABEL.exec(rest)?.[0];
      if (label === undefined) fail(i, `unexpected character ${JSON.stringify(c)}`);
      push('label', label!, label!.length);
    }
    i = skip(i);
  }
  tokens.push({ kind: 'eof', value: '', col: text.length + 1 });
  return tokens;
}

// ---- parser ----

const VALUE_OPS = new Map<TokenKind, ValueOp>([
  ['==', 'eq'],
  ['!=', 'ne'],
  ['contains', 'contains'],
  ['starts with', 'startsWith'],
  ['ends with', 'endsWith'],
]);

const MAX_DEPTH = 256;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly text: string, private readonly tokens: Token[]) {}

  parse(): SelectorNode {
    // Calico treats an empty (or blank) selector as all().
    if (this.peek().kind === 'eof') return { kind: 'all' };
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'eof') this.fail(t, `unexpected ${describe(t)} after end of expression`);
    return node;
  }

  private parseOr(): SelectorNode {
    const operands = [this.parseAnd()];
    while (this.accept('||')) operands.push(this.parseAnd());
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(): SelectorNode {
    const operands = [this.parseUnary()];
    while (this.accept('&&')) operands.push(this.parseUnary());
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parseUnary(): SelectorNode {
    // Like Calico, a run of '!' collapses to its parity, so `!!x` is just `x`.
    let negated = false;
    while (this.accept('!')) negated = !negated;
    const node = this.parsePrimary();
    return negated ? { kind: 'not', operand: node } : node;
  }

  private parsePrimary(): SelectorNode {
    const t = this.next();
    switch (t.kind) {
      case '(': {
        // Bound recursion so hostile input gets a parse error, not a stack overflow.
        if (++this.depth > MAX_DEPTH) this.fail(t, `parentheses nested deeper than ${MAX_DEPTH}`);
        const node = this.parseOr();
        this.depth--;
        const close = this.peek();
        if (close.kind !== ')') {
          this.fail(close, `missing ')' to close '(' at column ${t.col}, found ${describe(close)}`);
        }
        this.pos++;
        return node;
      }
      case 'all':
      case 'global':
        return { kind: t.kind };
      case 'has':
        return { kind: 'has', label: t.value };
      case 'label':
        return this.parseMatch(t);
      case 'eof':
        return this.fail(t, 'unexpected end of selector, expected an expression');
      case ')':
        return this.fail(t, "empty expression before ')'");
      default:
        return this.fail(t, `expected an expression, found ${describe(t)}`);
    }
  }

  private parseMatch(label: Token): SelectorNode {
    const op = this.next();
    const kind = VALUE_OPS.get(op.kind);
    if (kind !== undefined) {
      const v = this.next();
      if (v.kind !== 'string') this.fail(v, `expected a quoted string after '${op.value}', found ${describe(v)}`);
      return { kind, label: label.value, value: v.value };
    }
    if (op.kind === 'in' || op.kind === 'not in') {
      return { kind: op.kind === 'in' ? 'in' : 'notIn', label: label.value, values: this.parseSet(op.kind) };
    }
    const ops = '==, !=, in, not in, contains, starts with, ends with';
    return this.fail(op, `expected an operator (${ops}) after label '${label.value}', found ${describe(op)}`);
  }

  /** `{ 'a', "b" }`; a trailing comma and the empty set are allowed, as in Calico. */
  private parseSet(op: string): string[] {
    const open = this.next();
    if (open.kind !== '{') this.fail(open, `expected '{' after '${op}', found ${describe(open)}`);
    const values = new Set<string>();
    for (;;) {
      let t = this.next();
      if (t.kind === 'string') {
        values.add(t.value);
        t = this.next();
        if (t.kind === ',') continue;
      }
      if (t.kind === '}') break;
      if (t.kind === 'eof') this.fail(t, `missing '}' to close set opened at column ${open.col}`);
      this.fail(t, `expected a quoted string, ',' or '}' in set, found ${describe(t)}`);
    }
    // Calico stores sets sorted and de-duplicated, which fixes the canonical order.
    return [...values].sort();
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private accept(kind: TokenKind): boolean {
    if (this.peek().kind !== kind) return false;
    this.pos++;
    return true;
  }

  private fail(t: Token, reason: string): never {
    throw new SelectorParseError(this.text, t.col, reason);
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of selector';
  if (t.kind === 'string') return `string ${JSON.stringify(t.value)}`;
  return t.kind === 'label' ? `label '${t.value}'` : `'${t.value}'`;
}

// ---- evaluation and formatting ----

function lookup(labels: Labels, key: string): string | undefined {
  // Own properties only, so `has(constructor)` is not fooled by Object.prototype.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

export function evaluate(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return lookup(labels, node.label) !== undefined;
    case 'not':
      return !evaluate(node.operand, labels);
    case 'and':
      return node.operands.every((n) => evaluate(n, labels));
    case 'or':
      return node.operands.some((n) => evaluate(n, labels));
  }
  const v = lookup(labels, node.label);
  // Negative operators match an absent label; positive ones never do.
  if (v === undefined) return node.kind === 'ne' || node.kind === 'notIn';
  switch (node.kind) {
    case 'eq':
      return v === node.value;
    case 'ne':
      return v !== node.value;
    case 'contains':
      return v.includes(node.value);
    case 'startsWith':
      return v.startsWith(node.value);
    case 'endsWith':
      return v.endsWith(node.value);
    case 'in':
      return node.values.includes(v);
    case 'notIn':
      return !node.values.includes(v);
  }
}

// Calico quotes with " unless the value itself contains one (strings have no escapes).
const quote = (s: string): string => (s.includes('"') ? `'${s}'` : `"${s}"`);

const OP_TEXT: Record<ValueOp, string> = {
  eq: '==',
  ne: '!=',
  contains: 'contains',
  startsWith: 'starts with',
  endsWith: 'ends with',
};

export function formatSelector(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.label})`;
    case 'not':
      return `!${formatSelector(node.operand)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map(formatSelector).join(node.kind === 'and' ? ' && ' : ' || ')})`;
    case 'in':
    case 'notIn':
      return `${node.label} ${node.kind === 'in' ? 'in' : 'not in'} {${node.values.map(quote).join(', ')}}`;
    default:
      return `${node.label} ${OP_TEXT[node.kind]} ${quote(node.value)}`;
  }
}

// ---- public entry points ----

export function parseSelector(text: string): Selector {
  const ast = new Parser(text, tokenize(text)).parse();
  let canonical: string | undefined;
  return {
    source: text,
    ast,
    matches: (labels) => evaluate(ast, labels),
    toString: () => (canonical ??= formatSelector(ast)),
  };
}

/** Throws SelectorParseError if `text` is not a valid selector. */
export function validateSelector(text: string): void {
  parseSelector(text);
}

// Policies re-evaluate the same few selectors against many endpoints; keep recent parses.
const CACHE_LIMIT = 256;
const cache = new Map<string, Selector>();

export function matchesSelector(text: string, labels: Labels): boolean {
  let sel = cache.get(text);
  if (sel === undefined) {
    sel = parseSelector(text);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(text); // re-inserted below to mark as most recently used
  }
  cache.set(text, sel);
  return sel.matches(labels);
}
