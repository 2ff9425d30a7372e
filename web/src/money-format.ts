// Money as the API sends it, exact decimal text ("1234567.123456789012"), formatted for people
// without ever becoming a binary float: digits are handled as BigInt, rounded half away from zero
// (as the engine's Money.toFixed), grouped by thousands. Intl gives only the currency's symbol.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** { negative, units, scale }: "-12.345" → { negative: true, units: 12345n, scale: 3 }. */
interface Decimal {
  readonly negative: boolean;
  readonly units: bigint;
  readonly scale: number;
}

function parse(text: string): Decimal {
  const m = DECIMAL.exec(String(text));
  if (!m) throw new Error(`not a decimal amount: ${text}`);
  const fraction = m[3] ?? '';
  return { negative: m[1] === '-', units: BigInt(m[2] + fraction), scale: fraction.length };
}

/** Units of 10^-dp, rounded half away from zero, without the sign. */
function roundUnits({ units, scale }: { units: bigint; scale: number }, dp: number): bigint {
  if (scale <= dp) return units * 10n ** BigInt(dp - scale);
  const divisor = 10n ** BigInt(scale - dp);
  const q = units / divisor;
  return (units % divisor) * 2n >= divisor ? q + 1n : q;
}

function digits(units: bigint, dp: number): string {
  const s = units.toString().padStart(dp + 1, '0');
  const int = s.slice(0, s.length - dp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return dp > 0 ? `${int}.${s.slice(s.length - dp)}` : int;
}

/**
 * A decimal rounded to `dp` places with thousands separators.
 * @example formatDecimal('1234567.125') // '1,234,567.13'
 */
export function formatDecimal(text: string, dp = 2): string {
  const d = parse(text);
  const units = roundUnits(d, dp);
  return `${d.negative && units !== 0n ? '-' : ''}${digits(units, dp)}`;
}

const symbols = new Map<string, readonly [string, string]>();
/** How en-US writes an amount in `currency`: the parts around the number, e.g. ['$', ''] or ['CHF ', '']. */
function around(currency: string): readonly [string, string] {
  if (!symbols.has(currency)) {
    const parts = new Intl.NumberFormat('en-US', { style: 'currency', currency }).formatToParts(1);
    const at = parts.findIndex((p) => p.type === 'integer');
    let end = parts.length - 1;
    while (end >= 0 && !['integer', 'group', 'decimal', 'fraction'].includes(parts[end]!.type)) end--;
    symbols.set(currency, [parts.slice(0, at).map((p) => p.value).join(''), parts.slice(end + 1).map((p) => p.value).join('')]);
  }
  return symbols.get(currency)!;
}

function withCurrency(negative: boolean, number: string, currency: string): string {
  const [before, after] = around(currency);
  return `${negative ? '-' : ''}${before}${number}${after}`;
}

/**
 * Money to the cent in `currency`, as Intl would write it in en-US.
 * @example formatMoney('-1234.005', 'USD') // '-$1,234.01'
 */
export function formatMoney(text: string, currency = 'USD'): string {
  const d = parse(text);
  const units = roundUnits(d, 2);
  return withCurrency(d.negative && units !== 0n, digits(units, 2), currency);
}

const UNITS = ['', 'K', 'M', 'B', 'T'];

/**
 * Money in a few characters: two decimals of units, thousands, millions, billions… (as Intl's compact notation).
 * @example formatMoneyCompact('7563412.5', 'USD') // '$7.56M'
 */
export function formatMoneyCompact(text: string, currency = 'USD'): string {
  const d = parse(text);
  const whole = d.units / 10n ** BigInt(d.scale);
  let k = Math.min(UNITS.length - 1, Math.floor((whole.toString().length - 1) / 3));
  let units = roundUnits({ units: d.units, scale: d.scale + 3 * k }, 2);
  if (units >= 100000n && k < UNITS.length - 1) {
    k++; // 999,999.99 rounds to 1000.00K: say 1M
    units = roundUnits({ units: d.units, scale: d.scale + 3 * k }, 2);
  }
  return withCurrency(d.negative && units !== 0n, `${digits(units, 2)}${UNITS[k]}`, currency);
}

/**
 * An amount times a whole number, exactly: MRR × 12 = ARR.
 * @example multiplyDecimal('0.1', 3) // '0.3'
 */
export function multiplyDecimal(text: string, factor: number): string {
  const d = parse(text);
  const units = d.units * BigInt(factor);
  const negative = d.negative !== factor < 0 && units !== 0n;
  const s = units.toString().replace('-', '').padStart(d.scale + 1, '0');
  return `${negative ? '-' : ''}${d.scale ? `${s.slice(0, -d.scale)}.${s.slice(-d.scale)}` : s}`;
}

/** The amount with the opposite sign. */
export function negateDecimal(text: string): string {
  const d = parse(text);
  if (d.units === 0n) return String(text).replace(/^-/, '');
  return d.negative ? String(text).slice(1) : `-${text}`;
}

/** -1, 0 or 1, as a comparator: amounts compared exactly. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  const value = (d: Decimal): bigint => (d.negative ? -1n : 1n) * d.units * 10n ** BigInt(scale - d.scale);
  const diff = value(x) - value(y);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

/**
 * The sum of decimal amounts, exactly (as decimal text at the widest scale of the terms).
 * @example addDecimals(['0.1', '0.2']) // '0.3'
 */
export function addDecimals(texts: readonly string[]): string {
  const ds = texts.map(parse);
  const scale = Math.max(0, ...ds.map((d) => d.scale));
  const total = ds.reduce((s, d) => s + (d.negative ? -1n : 1n) * d.units * 10n ** BigInt(scale - d.scale), 0n);
  const negative = total < 0n;
  const s = (negative ? -total : total).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s}`;
}

/**
 * a ÷ b as a float, for a ratio shown as a percent or a point on a chart (never for money):
 * null when b is zero. Both are read exactly before the one division.
 */
export function ratioOf(a: string, b: string): number | null {
  const x = parse(a);
  const y = parse(b);
  if (y.units === 0n) return null;
  const scale = Math.max(x.scale, y.scale);
  const nx = (x.negative ? -1n : 1n) * x.units * 10n ** BigInt(scale - x.scale);
  const ny = (y.negative ? -1n : 1n) * y.units * 10n ** BigInt(scale - y.scale);
  // Twelve significant digits kept through the BigInt division: more than a percent needs.
  const q = (nx * 10n ** 12n) / ny;
  return Number(q) / 1e12;
}

/**
 * a ÷ n rounded half away from zero to `dp` places, as decimal text: ARPA = MRR ÷ customers.
 * @example divideDecimal('10', 3, 2) // '3.33'
 */
export function divideDecimal(text: string, n: number, dp = 2): string {
  if (!Number.isInteger(n) || n === 0) throw new Error(`divideDecimal: expected a non-zero whole number, got ${n}`);
  const d = parse(text);
  const scaled = d.units * 10n ** BigInt(dp + 1);
  const divisor = BigInt(Math.abs(n)) * 10n ** BigInt(d.scale);
  const q10 = scaled / divisor; // one extra digit for the rounding
  const units = q10 / 10n + (q10 % 10n >= 5n ? 1n : 0n);
  const negative = d.negative !== n < 0 && units !== 0n;
  const s = units.toString().padStart(dp + 1, '0');
  return `${negative ? '-' : ''}${dp ? `${s.slice(0, -dp)}.${s.slice(-dp)}` : s}`;
}
