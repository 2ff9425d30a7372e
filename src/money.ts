import Big from 'big.js';

/**
 * An exact amount of money as decimal text, as it left the database. Arithmetic and rounding for
 * display go through big.js, never through a binary float.
 * @example new Money('83.333333333333').toFixed(2) // '83.33'
 */
export class Money {
  readonly value: string;

  constructor(value: string | number | bigint) {
    const text = String(value);
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`not a decimal amount: ${text}`);
    this.value = trimZeros(text);
  }

  static zero = new Money('0');

  /**
   * The exact sum of amounts (decimal text or Money), added in one accumulator: for many amounts
   * much cheaper than a chain of `plus`, with the same result.
   * @example Money.sum(['0.1', '0.2']).value // '0.3'
   */
  static sum(values: Iterable<Money | string>): Money {
    let total = new Big(0);
    for (const v of values) total = total.plus(typeof v === 'string' ? v : v.value);
    return new Money(total.toFixed());
  }

  static from(v: unknown): Money {
    if (v === null || v === undefined) return Money.zero;
    return new Money(v as string);
  }

  /** Rounded half-up for display. */
  toFixed(dp = 2): string {
    return new Big(this.value).toFixed(dp, Big.roundHalfUp);
  }

  toNumber(): number {
    return Number(this.value);
  }

  plus(o: Money): Money {
    return new Money(new Big(this.value).plus(o.value).toFixed());
  }

  minus(o: Money): Money {
    return new Money(new Big(this.value).minus(o.value).toFixed());
  }

  times(n: number): Money {
    return new Money(new Big(this.value).times(n).toFixed());
  }

  cmp(o: Money): number {
    return new Big(this.value).cmp(o.value);
  }

  isZero(): boolean {
    return new Big(this.value).eq(0);
  }

  toString(): string {
    return this.value;
  }

  toJSON(): string {
    return this.value;
  }
}

function trimZeros(t: string): string {
  if (!t.includes('.')) return t === '-0' ? '0' : t;
  const s = t.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

/**
 * JSON text in which every Money is written as a JSON number with all its digits, never rounded
 * through a float on the way out; bigint as text. Otherwise the same text as JSON.stringify. The
 * value is walked here rather than marked in-band, so no string in the data can pass for an amount.
 */
export function stringifyJson(value: unknown, indent = 2): string {
  return jsonOf({ '': value }, '', '', ' '.repeat(indent)) ?? 'undefined';
}

/**
 * `stringifyJson` of a list, in pieces of about `piece` characters: the same text, for lists whose
 * text is longer than a JavaScript string may be (every account of a large company).
 * @example for (const t of stringifyJsonList(rows)) process.stdout.write(t);
 */
export function* stringifyJsonList(list: readonly unknown[], indent = 2, piece = 1 << 20): Generator<string> {
  if (list.length === 0) {
    yield '[]';
    return;
  }
  const step = ' '.repeat(indent);
  const open = step === '' ? '' : `\n${step}`;
  const sep = step === '' ? ',' : `,\n${step}`;
  const close = step === '' ? '' : '\n';
  let buffer = `[${open}`;
  for (let i = 0; i < list.length; i++) {
    buffer += (i > 0 ? sep : '') + (jsonOf(list, String(i), step, step) ?? 'null');
    if (buffer.length >= piece) {
      yield buffer;
      buffer = '';
    }
  }
  yield `${buffer}${close}]`;
}

/** The JSON text of `holder[key]`, or undefined when JSON.stringify would leave it out. */
function jsonOf(holder: object, key: string, at: string, step: string): string | undefined {
  let v: unknown = (holder as Record<string, unknown>)[key];
  if (v instanceof Money) return v.value;
  if (typeof v === 'bigint') return JSON.stringify(v.toString());
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    if (v instanceof Money) return v.value;
    if (typeof v === 'bigint') return JSON.stringify(v.toString());
  }
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = at + step;
  const open = step === '' ? '' : `\n${inner}`;
  const sep = step === '' ? ',' : `,\n${inner}`;
  const close = step === '' ? '' : `\n${at}`;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((_, i) => jsonOf(v as object, String(i), inner, step) ?? 'null');
    return `[${open}${items.join(sep)}${close}]`;
  }
  const fields: string[] = [];
  for (const k of Object.keys(v)) {
    const text = jsonOf(v, k, inner, step);
    if (text !== undefined) fields.push(`${JSON.stringify(k)}:${step === '' ? '' : ' '}${text}`);
  }
  return fields.length === 0 ? '{}' : `{${open}${fields.join(sep)}${close}}`;
}
