import type { Dialect } from '../engine/dialect.js';
import { NrrError } from '../errors.js';
import { FIELD_ALIASES, RULE_FIELDS, type FieldType } from './rule-fields.js';

/**
 * The playbook trigger language: a small boolean language over account record fields, compiled to
 * SQL. A rule never carries SQL of its own: fields come from a fixed catalogue and literals are
 * quoted by the dialect.
 *
 *   expr    := or
 *   or      := and ('or' and)*
 *   and     := not ('and' not)*
 *   not     := 'not' not | compare
 *   compare := primary (op primary | ['not'] 'in' '(' literal (',' literal)* ')' | 'is' ['not'] 'null')?
 *   op      := '<' | '<=' | '>' | '>=' | '=' | '!='
 *   primary := number | 'text' | true | false | field | '(' expr ')'
 *
 * @example compileRule('seat_utilisation > 0.8 and tier in (1, 2)', dialect).sql
 */

type Node =
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'text'; value: string; pos: number }
  | { kind: 'boolean'; value: boolean; pos: number }
  | { kind: 'field'; name: string; pos: number }
  | { kind: 'not'; arg: Node; pos: number }
  | { kind: 'and' | 'or'; left: Node; right: Node; pos: number }
  | { kind: 'compare'; op: string; left: Node; right: Node; pos: number }
  | { kind: 'in'; arg: Node; list: Node[]; negated: boolean; pos: number }
  | { kind: 'isnull'; arg: Node; negated: boolean; pos: number };

interface Token {
  readonly kind: 'number' | 'text' | 'word' | 'op' | 'punct' | 'end';
  readonly text: string;
  readonly pos: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

/**
 * How deep a rule may nest: parentheses, `not`s and chains of and/or each add a level. Far above any
 * real trigger, and far below what would exhaust the parser's stack or the database's expression depth.
 */
export const MAX_RULE_DEPTH = 100;
const TOO_DEEP = `the rule nests more than ${MAX_RULE_DEPTH} levels deep (parentheses, 'not's and chains of and/or); split it into simpler conditions`;

/** A mistake in a rule, with the position (0-based) of the offending text. */
export class RuleError extends NrrError {
  constructor(
    readonly expression: string,
    readonly position: number,
    readonly problem: string,
  ) {
    super(`${problem} at position ${position + 1}:\n    ${expression}\n    ${' '.repeat(position)}^`);
  }
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9.]/.test(c) || (c === '-' && /[0-9.]/.test(src[i + 1] ?? '') && !isValue(tokens.at(-1)))) {
      i++;
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      const text = src.slice(start, i);
      if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new RuleError(src, start, `'${text}' is not a number`);
      tokens.push({ kind: 'number', text, pos: start });
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new RuleError(src, start, 'a text that is never closed (a missing quote)');
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += src[i];
        i++;
      }
      tokens.push({ kind: 'text', text: value, pos: start });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      tokens.push({ kind: 'word', text: src.slice(start, i), pos: start });
    } else if ('<>=!'.includes(c)) {
      const two = src.slice(i, i + 2);
      const op = ['<=', '>=', '!=', '<>', '=='].includes(two) ? two : c;
      if (op === '!') throw new RuleError(src, start, "'!' on its own: use 'not' or '!='");
      i += op.length;
      tokens.push({ kind: 'op', text: op === '<>' ? '!=' : op === '==' ? '=' : op, pos: start });
    } else if ('(),'.includes(c)) {
      i++;
      tokens.push({ kind: 'punct', text: c, pos: start });
    } else {
      throw new RuleError(src, start, `unexpected '${c}'`);
    }
  }
  tokens.push({ kind: 'end', text: '', pos: src.length });
  return tokens;
}

/** After a value a '-' is subtraction (not supported), before one it is a sign. */
function isValue(t: Token | undefined): boolean {
  return t !== undefined && (t.kind === 'number' || t.kind === 'text' || (t.kind === 'word' && !KEYWORDS.has(t.text.toLowerCase())) || t.text === ')');
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Node {
    if (this.peek().kind === 'end') throw new RuleError(this.src, 0, 'an empty rule');
    const node = this.or();
    const t = this.peek();
    if (t.kind !== 'end') throw new RuleError(this.src, t.pos, `unexpected '${t.text}' (expected and, or, or the end of the rule)`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  private isWord(w: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text.toLowerCase() === w;
  }
  private expect(text: string, what: string): Token {
    const t = this.next();
    if (t.text !== text) throw new RuleError(this.src, t.pos, `expected ${what}, found ${t.kind === 'end' ? 'the end of the rule' : `'${t.text}'`}`);
    return t;
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      const pos = this.next().pos;
      left = { kind: 'or', left, right: this.and(), pos };
    }
    return left;
  }
  private and(): Node {
    let left = this.not();
    while (this.isWord('and')) {
      const pos = this.next().pos;
      left = { kind: 'and', left, right: this.not(), pos };
    }
    return left;
  }
  private not(): Node {
    if (this.isWord('not')) {
      const pos = this.next().pos;
      return this.nested(pos, () => ({ kind: 'not', arg: this.not(), pos }));
    }
    return this.compare();
  }
  /** Parses one level deeper, refusing a rule deeper than MAX_RULE_DEPTH before the stack runs out. */
  private nested(pos: number, parse: () => Node): Node {
    if (++this.depth > MAX_RULE_DEPTH) throw new RuleError(this.src, pos, TOO_DEEP);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
  private compare(): Node {
    const left = this.primary();
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { kind: 'compare', op: t.text, left, right: this.primary(), pos: t.pos };
    }
    if (this.isWord('in') || (this.isWord('not') && this.tokens[this.i + 1]?.text.toLowerCase() === 'in')) {
      const negated = this.isWord('not');
      if (negated) this.next();
      const pos = this.next().pos;
      this.expect('(', "'(' after in");
      const list: Node[] = [this.literal()];
      while (this.peek().text === ',') {
        this.next();
        list.push(this.literal());
      }
      this.expect(')', "',' or ')'");
      return { kind: 'in', arg: left, list, negated, pos };
    }
    if (this.isWord('is')) {
      const pos = this.next().pos;
      const negated = this.isWord('not');
      if (negated) this.next();
      if (!this.isWord('null')) throw new RuleError(this.src, this.peek().pos, "expected null after 'is' (is null, is not null)");
      this.next();
      return { kind: 'isnull', arg: left, negated, pos };
    }
    return left;
  }
  private literal(): Node {
    const t = this.peek();
    const node = this.primary();
    if (node.kind !== 'number' && node.kind !== 'text' && node.kind !== 'boolean') {
      throw new RuleError(this.src, t.pos, 'a list after in holds numbers or quoted texts only');
    }
    return node;
  }
  private primary(): Node {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: Number(t.text), pos: t.pos };
      case 'text':
        return { kind: 'text', value: t.text, pos: t.pos };
      case 'word': {
        const w = t.text.toLowerCase();
        if (w === 'true' || w === 'false') return { kind: 'boolean', value: w === 'true', pos: t.pos };
        if (KEYWORDS.has(w)) throw new RuleError(this.src, t.pos, `expected a field or a value, found '${t.text}'`);
        return { kind: 'field', name: t.text, pos: t.pos };
      }
      case 'punct':
        if (t.text === '(') {
          return this.nested(t.pos, () => {
            const inner = this.or();
            this.expect(')', "')'");
            return inner;
          });
        }
        break;
      default:
        break;
    }
    throw new RuleError(this.src, t.pos, t.kind === 'end' ? 'the rule ends too soon' : `expected a field or a value, found '${t.text}'`);
  }
}

/** The closest known field name, for "did you mean". */
function suggest(name: string): string | null {
  let best: [string, number] | null = null;
  for (const f of [...Object.keys(RULE_FIELDS), ...Object.keys(FIELD_ALIASES)]) {
    const d = distance(name.toLowerCase(), f);
    if (d <= 3 && (best === null || d < best[1])) best = [f, d];
  }
  return best?.[0] ?? null;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export interface CompiledRule {
  /** SQL that is TRUE for accounts the rule selects (unknown values select nothing). */
  readonly sql: string;
  /** The fields the rule reads (catalogue names). */
  readonly fields: readonly string[];
}

/**
 * Parses, checks and compiles a trigger. Errors name the problem and point at its position.
 * @example compileRule("health_colour = 'red' and days_to_renewal <= 60", d).fields // ['health_colour', 'days_to_renewal']
 */
export function compileRule(expression: string, d: Dialect): CompiledRule {
  const tree = new Parser(expression, tokenize(expression)).parse();
  checkDepth(tree, expression);
  const fields = new Set<string>();
  const typeOf = (node: Node): FieldType => {
    switch (node.kind) {
      case 'number':
        return 'number';
      case 'text':
        return 'text';
      case 'boolean':
        return 'boolean';
      case 'field': {
        const name = FIELD_ALIASES[node.name.toLowerCase()] ?? node.name.toLowerCase();
        const f = RULE_FIELDS[name];
        if (!f) {
          const s = suggest(node.name);
          throw new RuleError(expression, node.pos, `unknown field '${node.name}'${s ? ` (did you mean ${s}?)` : ''}`);
        }
        fields.add(name);
        return f.type;
      }
      case 'not':
        need(node.arg, 'boolean', "'not'");
        return 'boolean';
      case 'and':
      case 'or':
        need(node.left, 'boolean', `'${node.kind}'`);
        need(node.right, 'boolean', `'${node.kind}'`);
        return 'boolean';
      case 'compare': {
        const l = typeOf(node.left);
        const r = typeOf(node.right);
        if (l !== r) throw new RuleError(expression, node.right.pos, `cannot compare ${describe(node.left, l)} with ${describe(node.right, r)}`);
        if (l !== 'number' && !['=', '!='].includes(node.op)) throw new RuleError(expression, node.pos, `'${node.op}' compares numbers; ${l === 'text' ? 'texts' : 'true/false values'} take = or !=`);
        return 'boolean';
      }
      case 'in': {
        const t = typeOf(node.arg);
        if (t === 'boolean') throw new RuleError(expression, node.pos, "'in' needs a number or text field");
        for (const item of node.list) {
          if (typeOf(item) !== t) throw new RuleError(expression, item.pos, `the list mixes in a ${typeOf(item)}: ${describe(node.arg, t)} takes ${t}s`);
        }
        return 'boolean';
      }
      case 'isnull':
        typeOf(node.arg);
        return 'boolean';
    }
  };
  const need = (node: Node, type: FieldType, where: string): void => {
    const t = typeOf(node);
    if (t !== type) throw new RuleError(expression, node.pos, `${where} needs a true/false condition, not ${describe(node, t)}`);
  };
  need(tree, 'boolean', 'a rule');
  const sql = (node: Node): string => {
    switch (node.kind) {
      case 'number':
        if (!Number.isFinite(node.value)) throw new RuleError(expression, node.pos, 'a number out of range');
        return String(node.value);
      case 'text':
        return d.quoteString(node.value);
      case 'boolean':
        return node.value ? 'TRUE' : 'FALSE';
      case 'field':
        return `(${RULE_FIELDS[FIELD_ALIASES[node.name.toLowerCase()] ?? node.name.toLowerCase()]!.column})`;
      case 'not':
        return `(NOT ${sql(node.arg)})`;
      case 'and':
        return `(${sql(node.left)} AND ${sql(node.right)})`;
      case 'or':
        return `(${sql(node.left)} OR ${sql(node.right)})`;
      case 'compare':
        return `(${sql(node.left)} ${node.op === '!=' ? '<>' : node.op} ${sql(node.right)})`;
      case 'in':
        return `(${sql(node.arg)} ${node.negated ? 'NOT IN' : 'IN'} (${node.list.map(sql).join(', ')}))`;
      case 'isnull':
        return `(${sql(node.arg)} IS ${node.negated ? 'NOT ' : ''}NULL)`;
    }
  };
  return { sql: `coalesce(${sql(tree)}, FALSE)`, fields: [...fields] };
}

/** A long chain of and/or nests as deep as parentheses do; measured without recursion. */
function checkDepth(tree: Node, expression: string): void {
  const stack: [Node, number][] = [[tree, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_RULE_DEPTH) throw new RuleError(expression, node.pos, TOO_DEEP);
    const children = node.kind === 'not' ? [node.arg] : node.kind === 'and' || node.kind === 'or' || node.kind === 'compare' ? [node.left, node.right] : node.kind === 'in' || node.kind === 'isnull' ? [node.arg] : [];
    for (const c of children) stack.push([c, depth + 1]);
  }
}

function describe(node: Node, type: FieldType): string {
  const what = type === 'boolean' ? 'a true/false value' : type === 'text' ? 'a text' : 'a number';
  return node.kind === 'field' ? `${node.name} (${what})` : what;
}
