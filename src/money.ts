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
 * through a float on the way out.
 */
export function stringifyJson(value: unknown, indent = 2): string {
  const placeholders: string[] = [];
  const text = JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      if (raw instanceof Money) {
        placeholders.push(raw.value);
        return `\u0000money${placeholders.length - 1}\u0000`;
      }
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    indent,
  );
  return text.replace(/"\\u0000money(\d+)\\u0000"/g, (_, i: string) => placeholders[Number(i)]!);
}
