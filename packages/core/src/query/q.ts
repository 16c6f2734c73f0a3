/**
 * The NGSI-LD query language (4.9): `q` text -> expression tree. Pure
 * parsing; attribute names stay short here and are expanded by whoever
 * compiles the tree, with the request's @context.
 *
 *   expr    := and ('|' and)*
 *   and     := factor (';' factor)*
 *   factor  := '(' expr ')' | term
 *   term    := path [op value]          (no op: the attribute exists)
 *   path    := name '{' [types ':'] path '}'          (a linked entity's attribute)
 *            | name ('.' name)* ['[' name ('.' name)* ']']
 *   value   := list | range | single;  list := single (',' single)+;  range := single '..' single
 */
import { badRequest } from '../errors';

/** Members of an attribute that paths (q, orderBy) address as metadata rather than as sub-attributes. */
export const ATTRIBUTE_METADATA: ReadonlySet<string> = new Set(['observedAt', 'unitCode', 'datasetId', 'createdAt', 'modifiedAt']);

export type QOperator = '==' | '!=' | '>' | '>=' | '<' | '<=' | '~=' | '!~=';

export type QScalar =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'dateTime'; value: string };

export type QValue = QScalar | { kind: 'range'; min: QScalar; max: QScalar } | { kind: 'list'; items: QScalar[] };

export interface QPath {
  /** The attribute (short name or IRI as written). */
  attribute: string;
  /** Sub-attributes, or a metadata member (observedAt, unitCode, ...) as the last step. */
  members: string[];
  /** Keys into a compound value (`attr[a.b]`), or a language tag for a LanguageProperty (`*`: any). */
  compound: string[];
  /**
   * `rel{path}` (4.9, EXAMPLE 13): `path` on the entities `attribute`, a
   * Relationship, points at; `types` (`rel{A,B:path}`) narrows the targets.
   */
  linked?: { types?: string[]; path: QPath };
  /** The attribute's value is raw JSON (jsonKeys): compound member names stay as written. */
  jsonKeys?: boolean;
}

export type QExpression =
  | { kind: 'and'; terms: QExpression[] }
  | { kind: 'or'; terms: QExpression[] }
  | { kind: 'term'; path: QPath; op: QOperator; value: QValue }
  /** `attr` alone: the attribute exists; `!attr`: it does not. */
  | { kind: 'exists'; path: QPath; negated: boolean };

const OPERATORS: QOperator[] = ['!~=', '==', '!=', '>=', '<=', '~=', '>', '<'];
const NAME = /^[\p{L}\p{N}_:@/#.\-]+/u;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
/** `rel{`: the start of a linked entity path. */
const LINKED = /^([\p{L}\p{N}_:@/#\-]+)\{/u;
/** `Type,Type:` before a linked path: entity type names, which (like attribute names, 4.9) hold no ':'. */
const TYPE_HINT = /^([\p{L}\p{N}_\-]+(?:,[\p{L}\p{N}_\-]+)*):(?=[\p{L}_])/u;

export function parseQ(text: string): QExpression {
  const parser = new QParser(text);
  const expression = parser.expression();
  parser.end();
  return expression;
}

/** An attribute path alone (`a.b[c.d]`), as orderBy and other parameters name it. */
export function parseAttributePath(text: string, what = 'attribute path'): QPath {
  const parser = new QParser(text, what);
  const path = parser.attributePath();
  parser.end();
  return path;
}

class QParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly what = 'q',
  ) {
    if (text.trim() === '') throw badRequest(`${what} is empty`);
  }

  attributePath(): QPath {
    return this.path();
  }

  expression(): QExpression {
    const terms = [this.conjunction()];
    while (this.peek('|')) {
      this.pos += 1;
      terms.push(this.conjunction());
    }
    return terms.length === 1 ? terms[0] : { kind: 'or', terms };
  }

  end(): void {
    if (this.pos < this.text.length) this.fail(`unexpected ${JSON.stringify(this.text[this.pos])}`);
  }

  private conjunction(): QExpression {
    const terms = [this.factor()];
    while (this.peek(';')) {
      this.pos += 1;
      terms.push(this.factor());
    }
    return terms.length === 1 ? terms[0] : { kind: 'and', terms };
  }

  private factor(): QExpression {
    if (this.peek('(')) {
      this.pos += 1;
      const inner = this.expression();
      if (!this.peek(')')) this.fail('expected ")"');
      this.pos += 1;
      return inner;
    }
    return this.term();
  }

  private term(): QExpression {
    if (this.peek('!')) {
      this.pos += 1;
      return { kind: 'exists', path: this.path(), negated: true };
    }
    const path = this.path();
    const op = OPERATORS.find((o) => this.text.startsWith(o, this.pos));
    if (!op) return { kind: 'exists', path, negated: false };
    this.pos += op.length;
    const value = this.value();
    if ((value.kind === 'range' || value.kind === 'list') && op !== '==' && op !== '!=') {
      this.fail(`a ${value.kind} can only be compared with == or !=`);
    }
    if ((op === '~=' || op === '!~=') && value.kind !== 'string') this.fail('a pattern must be a quoted string');
    return { kind: 'term', path, op, value };
  }

  private path(): QPath {
    const linked = LINKED.exec(this.text.slice(this.pos));
    if (linked) {
      this.pos += linked[0].length;
      const hint = TYPE_HINT.exec(this.text.slice(this.pos));
      if (hint) this.pos += hint[0].length;
      const path: QPath = { attribute: linked[1], members: [], compound: [], linked: { path: this.path() } };
      if (hint) path.linked!.types = hint[1].split(',');
      if (!this.peek('}')) this.fail('expected "}"');
      this.pos += 1;
      return path;
    }
    const first = this.name('an attribute name');
    // A full IRI as attribute name keeps its dots.
    const parts = first.includes('://') ? [first] : first.split('.');
    const path: QPath = { attribute: parts[0], members: parts.slice(1), compound: [] };
    if (path.members.some((m) => m === '')) this.fail('empty attribute path member');
    if (this.peek('[')) {
      this.pos += 1;
      // `[*]`: any language of a LanguageProperty (4.9).
      if (this.peek('*')) {
        this.pos += 1;
        if (!this.peek(']')) this.fail('expected "]" after "*"');
        this.pos += 1;
        path.compound = ['*'];
        return path;
      }
      path.compound = this.name('a member name').split('.');
      if (path.compound.some((m) => m === '')) this.fail('empty compound member');
      if (!this.peek(']')) this.fail('expected "]"');
      this.pos += 1;
    }
    return path;
  }

  private name(what: string): string {
    const m = NAME.exec(this.text.slice(this.pos));
    if (!m) this.fail(`expected ${what}`);
    // A name never ends in '.', which would belong to a range.
    let name = m![0];
    const range = name.indexOf('..');
    if (range >= 0) name = name.slice(0, range);
    this.pos += name.length;
    return name;
  }

  private value(): QValue {
    const first = this.scalar();
    if (this.text.startsWith('..', this.pos)) {
      this.pos += 2;
      return { kind: 'range', min: first, max: this.scalar() };
    }
    if (!this.peek(',')) return first;
    const items = [first];
    while (this.peek(',')) {
      this.pos += 1;
      items.push(this.scalar());
    }
    return { kind: 'list', items };
  }

  private scalar(): QScalar {
    if (this.peek('"')) {
      const end = this.text.indexOf('"', this.pos + 1);
      if (end < 0) this.fail('unterminated string');
      const value = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { kind: 'string', value };
    }
    // Unquoted: up to the next separator. URIs and times contain ':' and '.', so only ; | ) , and '..' end a token.
    const rest = this.text.slice(this.pos);
    const m = /^[^;|),"]+/.exec(rest);
    if (!m) this.fail('expected a value');
    let token = m![0];
    const range = token.indexOf('..');
    if (range >= 0) token = token.slice(0, range);
    this.pos += token.length;
    if (token === 'true' || token === 'false') return { kind: 'boolean', value: token === 'true' };
    if (NUMBER.test(token)) return { kind: 'number', value: Number(token) };
    if (DATE_TIME.test(token) || DATE.test(token)) return { kind: 'dateTime', value: token };
    // Unquoted text (times of day, URIs, and the bare words many clients send) compares as a string.
    return { kind: 'string', value: token };
  }

  private peek(c: string): boolean {
    return this.text[this.pos] === c;
  }

  private fail(message: string): never {
    throw badRequest(`Invalid ${this.what} at position ${this.pos}: ${message}`);
  }
}

/** How many Relationships deep a q expression follows into linked entities (0: none). */
export function qLinkDepth(expression: QExpression): number {
  if (expression.kind === 'and' || expression.kind === 'or') return Math.max(...expression.terms.map(qLinkDepth));
  let depth = 0;
  for (let path = expression.path; path.linked; path = path.linked.path) depth += 1;
  return depth;
}

/** The attribute names a q expression refers to (to tell a real filter from one on system attributes only). */
export function qAttributes(expression: QExpression): string[] {
  return expression.kind === 'and' || expression.kind === 'or' ? expression.terms.flatMap(qAttributes) : [expression.path.attribute];
}
