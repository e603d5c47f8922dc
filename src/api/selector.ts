// Calico v3 label selectors (libcalico-go/lib/selector): tokenizer, recursive-descent parser,
// evaluator and Calico's canonical string form.
//
// Grammar, loosest binding first:
//   or   := and ('||' and)*
//   and  := unary ('&&' unary)*
//   unary:= '!'* primary
//   primary := 'all()' | 'has(' label ')' | label op value | '(' or ')'

import { SelectorParseError } from '../errors.js';

export type Labels = Readonly<Record<string, string>>;

export type ValueOp = 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';

export type SelectorNode =
  | { kind: 'all' }
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

type TokenKind = 'word' | 'string' | '(' | ')' | '{' | '}' | ',' | '==' | '!=' | '!' | '&&' | '||' | 'eof';
interface Token {
  kind: TokenKind;
  /** Word text or string contents (without quotes); raw text for punctuation. */
  value: string;
  /** 1-based column of the token's first character. */
  col: number;
}

const WORD = /[A-Za-z0-9_./-]/;
const SPACE = /\s/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const fail = (i: number, reason: string): never => {
    throw new SelectorParseError(text, i + 1, reason);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const col = i + 1;
    const two = text.slice(i, i + 2);
    if (SPACE.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      // Calico strings have no escapes: everything up to the matching quote.
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(i, 'unterminated string');
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), col });
      i = end + 1;
    } else if (two === '==' || two === '!=' || two === '&&' || two === '||') {
      tokens.push({ kind: two, value: two, col });
      i += 2;
    } else if (c === '=' || c === '&' || c === '|') {
      fail(i, `expected '${c}${c}', found single '${c}'`);
    } else if ('(){},!'.includes(c)) {
      tokens.push({ kind: c as TokenKind, value: c, col });
      i++;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text[i]!)) i++;
      tokens.push({ kind: 'word', value: text.slice(start, i), col });
    } else {
      fail(i, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ kind: 'eof', value: '', col: text.length + 1 });
  return tokens;
}

// ---- parser ----

// Maps, not object literals, so words like 'toString' never hit Object.prototype.
const VALUE_OPS = new Map<string, ValueOp>([
  ['==', 'eq'],
  ['!=', 'ne'],
  ['contains', 'contains'],
  ['starts with', 'startsWith'],
  ['ends with', 'endsWith'],
]);
const SECOND_WORD = new Map([
  ['not', 'in'],
  ['starts', 'with'],
  ['ends', 'with'],
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
      case 'word':
        if (this.peek().kind === '(' && (t.value === 'has' || t.value === 'all' || t.value === 'global')) {
          return this.parseFunction(t);
        }
        return this.parseMatch(t);
      case 'eof':
        return this.fail(t, 'unexpected end of selector, expected an expression');
      case ')':
        return this.fail(t, "empty expression before ')'");
      default:
        return this.fail(t, `expected an expression, found ${describe(t)}`);
    }
  }

  private parseFunction(name: Token): SelectorNode {
    this.pos++; // '('
    if (name.value === 'global') this.fail(name, 'global() is not supported');
    let node: SelectorNode = { kind: 'all' };
    if (name.value === 'has') {
      const label = this.next();
      if (label.kind !== 'word') this.fail(label, `expected a label name in has(), found ${describe(label)}`);
      node = { kind: 'has', label: label.value };
    }
    const close = this.peek();
    if (close.kind !== ')') this.fail(close, `missing ')' after ${name.value}(, found ${describe(close)}`);
    this.pos++;
    return node;
  }

  private parseMatch(label: Token): SelectorNode {
    const opTok = this.next();
    let op: string = opTok.kind;
    if (opTok.kind === 'word') {
      // Two-word operators: 'not in', 'starts with', 'ends with'.
      const second = SECOND_WORD.get(opTok.value);
      op = opTok.value;
      if (second !== undefined) {
        const t = this.next();
        if (t.kind !== 'word' || t.value !== second) {
          this.fail(t, `expected '${second}' after '${opTok.value}', found ${describe(t)}`);
        }
        op = `${opTok.value} ${second}`;
      }
    }
    const kind = VALUE_OPS.get(op);
    if (kind !== undefined) {
      const v = this.next();
      if (v.kind !== 'string') this.fail(v, `expected a quoted string after '${op}', found ${describe(v)}`);
      return { kind, label: label.value, value: v.value };
    }
    if (op === 'in' || op === 'not in') {
      return { kind: op === 'in' ? 'in' : 'notIn', label: label.value, values: this.parseSet(op) };
    }
    const ops = '==, !=, in, not in, contains, starts with, ends with';
    return this.fail(opTok, `expected an operator (${ops}) after label '${label.value}', found ${describe(opTok)}`);
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
  return t.kind === 'string' ? `string ${JSON.stringify(t.value)}` : `'${t.value}'`;
}

// ---- evaluation and formatting ----

function lookup(labels: Labels, key: string): string | undefined {
  // Own properties only, so `has(constructor)` is not fooled by Object.prototype.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

export function evaluate(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case 'all':
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
