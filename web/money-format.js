// Money as the API sends it, exact decimal text ("1234567.123456789012"), formatted for people
// without ever becoming a binary float: digits are handled as BigInt, rounded half away from zero
// (as the engine's Money.toFixed), grouped by thousands. Intl gives only the currency's symbol.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** { negative, units, scale }: "-12.345" → { negative: true, units: 12345n, scale: 3 }. */
function parse(text) {
  const m = DECIMAL.exec(String(text));
  if (!m) throw new Error(`not a decimal amount: ${text}`);
  const fraction = m[3] ?? '';
  return { negative: m[1] === '-', units: BigInt(m[2] + fraction), scale: fraction.length };
}

/** Units of 10^-dp, rounded half away from zero, without the sign. */
function roundUnits({ units, scale }, dp) {
  if (scale <= dp) return units * 10n ** BigInt(dp - scale);
  const divisor = 10n ** BigInt(scale - dp);
  const q = units / divisor;
  return (units % divisor) * 2n >= divisor ? q + 1n : q;
}

function digits(units, dp) {
  const s = units.toString().padStart(dp + 1, '0');
  const int = s.slice(0, s.length - dp).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return dp > 0 ? `${int}.${s.slice(s.length - dp)}` : int;
}

/**
 * A decimal rounded to `dp` places with thousands separators.
 * @example formatDecimal('1234567.125') // '1,234,567.13'
 */
export function formatDecimal(text, dp = 2) {
  const d = parse(text);
  const units = roundUnits(d, dp);
  return `${d.negative && units !== 0n ? '-' : ''}${digits(units, dp)}`;
}

const symbols = new Map();
/** How en-US writes an amount in `currency`: the parts around the number, e.g. ['$', ''] or ['CHF ', '']. */
function around(currency) {
  if (!symbols.has(currency)) {
    const parts = new Intl.NumberFormat('en-US', { style: 'currency', currency }).formatToParts(1);
    const at = parts.findIndex((p) => p.type === 'integer');
    const end = parts.findLastIndex((p) => ['integer', 'group', 'decimal', 'fraction'].includes(p.type));
    symbols.set(currency, [parts.slice(0, at).map((p) => p.value).join(''), parts.slice(end + 1).map((p) => p.value).join('')]);
  }
  return symbols.get(currency);
}

function withCurrency(negative, number, currency) {
  const [before, after] = around(currency);
  return `${negative ? '-' : ''}${before}${number}${after}`;
}

/**
 * Money to the cent in `currency`, as Intl would write it in en-US.
 * @example formatMoney('-1234.005', 'USD') // '-$1,234.01'
 */
export function formatMoney(text, currency = 'USD') {
  const d = parse(text);
  const units = roundUnits(d, 2);
  return withCurrency(d.negative && units !== 0n, digits(units, 2), currency);
}

const UNITS = ['', 'K', 'M', 'B', 'T'];

/**
 * Money in a few characters: two decimals of units, thousands, millions, billions… (as Intl's compact notation).
 * @example formatMoneyCompact('7563412.5', 'USD') // '$7.56M'
 */
export function formatMoneyCompact(text, currency = 'USD') {
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
export function multiplyDecimal(text, factor) {
  const d = parse(text);
  const units = d.units * BigInt(factor);
  const negative = d.negative !== factor < 0 && units !== 0n;
  const s = units.toString().replace('-', '').padStart(d.scale + 1, '0');
  return `${negative ? '-' : ''}${d.scale ? `${s.slice(0, -d.scale)}.${s.slice(-d.scale)}` : s}`;
}

/** The amount with the opposite sign. */
export function negateDecimal(text) {
  const d = parse(text);
  if (d.units === 0n) return String(text).replace(/^-/, '');
  return d.negative ? String(text).slice(1) : `-${text}`;
}

/** -1, 0 or 1, as a comparator: amounts compared exactly. */
export function compareDecimal(a, b) {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  const value = (d) => (d.negative ? -1n : 1n) * d.units * 10n ** BigInt(scale - d.scale);
  const diff = value(x) - value(y);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}
