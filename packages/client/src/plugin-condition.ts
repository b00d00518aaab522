/*
 * DSS's `visibilityCondition`: a JavaScript expression over `model` (the form's values) that decides
 * whether a plugin parameter is shown. DSS evaluates it with Angular; we cannot use eval or new Function
 * (the web page's CSP forbids them, and a plugin's descriptor would then run code in every user's
 * browser and in the server). So this is a small interpreter for the subset DSS plugins use: property
 * reads on `model`, literals, comparisons, `&&`, `||`, `!`, parentheses, `.length` and `.indexOf(x)` /
 * `.includes(x)`. Pure: no Node or DOM APIs.
 */

type Token =
  | { kind: 'num'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'id'; value: string }
  | { kind: 'op'; value: string };

/** Longest operators first, so `===` is not read as `==` then `=`. */
const OPERATORS = [
  '===',
  '!==',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '!',
  '(',
  ')',
  '[',
  ']',
  '.',
  ',',
  '-',
];
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*/;
const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' };

class Unsupported extends Error {}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number && !(ch === '.' && tokens.length > 0 && isOperand(tokens[tokens.length - 1]!))) {
      tokens.push({ kind: 'num', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const identifier = IDENTIFIER.exec(rest);
    if (identifier) {
      tokens.push({ kind: 'id', value: identifier[0] });
      i += identifier[0].length;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const [value, length] = readString(source, i);
      tokens.push({ kind: 'str', value });
      i += length;
      continue;
    }
    const op = OPERATORS.find((candidate) => rest.startsWith(candidate));
    if (!op) throw new Unsupported(`unexpected ${ch}`);
    tokens.push({ kind: 'op', value: op });
    i += op.length;
  }
  return tokens;
}

/** A `.` right after a value is a property access (`model.x.5` is not valid anyway), not a number. */
function isOperand(token: Token): boolean {
  return token.kind !== 'op' || token.value === ')' || token.value === ']';
}

function readString(source: string, start: number): [string, number] {
  const quote = source[start];
  let value = '';
  for (let i = start + 1; i < source.length; i += 1) {
    const ch = source[i]!;
    if (ch === quote) return [value, i - start + 1];
    if (ch === '\\') {
      i += 1;
      const escaped = source[i];
      if (escaped === undefined) break;
      value += ESCAPES[escaped] ?? escaped;
    } else value += ch;
  }
  throw new Unsupported('unterminated string');
}

/** What the model's own data offers: never a prototype's members (`model.constructor`, `__proto__`). */
function property(target: unknown, key: unknown): unknown {
  if (typeof key !== 'string' && typeof key !== 'number') return undefined;
  if (typeof target === 'string' || Array.isArray(target)) {
    if (key === 'length') return target.length;
    return typeof key === 'number' || /^\d+$/.test(key) ? target[Number(key)] : undefined;
  }
  if (target !== null && typeof target === 'object' && Object.hasOwn(target, key)) {
    return (target as Record<string, unknown>)[key];
  }
  return undefined;
}

function callMethod(target: unknown, method: string, args: unknown[]): unknown {
  if (typeof target === 'string' || Array.isArray(target)) {
    const [needle] = args;
    if (method === 'indexOf')
      return typeof target === 'string' ? target.indexOf(String(needle)) : target.indexOf(needle);
    if (method === 'includes')
      return typeof target === 'string' ? target.includes(String(needle)) : target.includes(needle);
  }
  // DSS conditions only ever call these two on values; anything else on a missing value is false-ish.
  if (method === 'indexOf' || method === 'includes') return method === 'indexOf' ? -1 : false;
  throw new Unsupported(`method ${method}`);
}

/** JavaScript's `==` for JSON values: null and undefined are equal; numbers, strings and booleans compare as numbers. */
function looseEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  const primitive = (v: unknown) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
  if (primitive(a) && primitive(b)) {
    if (typeof a === 'string' && typeof b === 'string') return false;
    return Number(a) === Number(b);
  }
  return false;
}

function compare(a: unknown, b: unknown, op: string): boolean {
  const both = typeof a === 'string' && typeof b === 'string';
  const x = both ? a : Number(a);
  const y = both ? b : Number(b);
  if (op === '<') return x < y;
  if (op === '<=') return x <= y;
  if (op === '>') return x > y;
  return x >= y;
}

/** Recursive descent, evaluating as it parses: the expressions are short and evaluated once. */
class Evaluator {
  private position = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly model: Record<string, unknown>,
  ) {}

  run(): unknown {
    const value = this.or();
    if (this.position < this.tokens.length) throw new Unsupported('trailing tokens');
    return value;
  }

  private peek(): Token | undefined {
    return this.tokens[this.position];
  }

  private takeOp(...ops: string[]): string | undefined {
    const token = this.peek();
    if (token?.kind === 'op' && ops.includes(token.value)) {
      this.position += 1;
      return token.value;
    }
    return undefined;
  }

  private expectOp(op: string): void {
    if (!this.takeOp(op)) throw new Unsupported(`expected ${op}`);
  }

  // Both sides are always evaluated (no side effects here), then combined the way JavaScript does.
  private or(): unknown {
    let value = this.and();
    while (this.takeOp('||')) {
      const right = this.and();
      value = value || right;
    }
    return value;
  }

  private and(): unknown {
    let value = this.equality();
    while (this.takeOp('&&')) {
      const right = this.equality();
      value = value && right;
    }
    return value;
  }

  private equality(): unknown {
    let value = this.relational();
    for (let op = this.takeOp('===', '!==', '==', '!='); op; op = this.takeOp('===', '!==', '==', '!=')) {
      const right = this.relational();
      if (op === '===') value = value === right;
      else if (op === '!==') value = value !== right;
      else if (op === '==') value = looseEquals(value, right);
      else value = !looseEquals(value, right);
    }
    return value;
  }

  private relational(): unknown {
    let value = this.unary();
    for (let op = this.takeOp('<=', '>=', '<', '>'); op; op = this.takeOp('<=', '>=', '<', '>')) {
      value = compare(value, this.unary(), op);
    }
    return value;
  }

  private unary(): unknown {
    if (this.takeOp('!')) return !this.unary();
    if (this.takeOp('-')) return -Number(this.unary());
    return this.postfix();
  }

  private postfix(): unknown {
    let value = this.primary();
    for (;;) {
      if (this.takeOp('.')) {
        const name = this.tokens[this.position++];
        if (name?.kind !== 'id') throw new Unsupported('expected a property name');
        if (this.takeOp('(')) value = callMethod(value, name.value, this.arguments());
        else value = property(value, name.value);
      } else if (this.takeOp('[')) {
        const key = this.or();
        this.expectOp(']');
        value = property(value, key);
      } else return value;
    }
  }

  private arguments(): unknown[] {
    const args: unknown[] = [];
    if (this.takeOp(')')) return args;
    do args.push(this.or());
    while (this.takeOp(','));
    this.expectOp(')');
    return args;
  }

  private primary(): unknown {
    const token = this.tokens[this.position++];
    if (!token) throw new Unsupported('unexpected end');
    if (token.kind === 'num' || token.kind === 'str') return token.value;
    if (token.kind === 'id') {
      if (token.value === 'model') return this.model;
      if (token.value === 'true') return true;
      if (token.value === 'false') return false;
      if (token.value === 'null') return null;
      if (token.value === 'undefined') return undefined;
      throw new Unsupported(`unknown name ${token.value}`);
    }
    if (token.value === '(') {
      const value = this.or();
      this.expectOp(')');
      return value;
    }
    throw new Unsupported(`unexpected ${token.value}`);
  }
}

/**
 * Whether a parameter with this `visibilityCondition` is shown for these form values. No condition, or
 * one this interpreter cannot read, shows the parameter: hiding a field the user must fill would be worse
 * than showing one they need not. Never throws.
 */
export function isVisible(condition: string | null | undefined, model: Record<string, unknown>): boolean {
  if (condition == null || condition.trim() === '') return true;
  try {
    return Boolean(new Evaluator(tokenize(condition), model).run());
  } catch {
    return true;
  }
}
