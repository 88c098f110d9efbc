// Exact rationals over BigInt for SLO thresholds. In floating point
// 14.4 × (1 − 0.999) is 0.014399999999999182, so an error ratio of exactly
// 0.0144 would fire an alert the SRE Workbook says must not fire (its rule is
// a strict `>`). Objectives and factors are decimals as written, so they are
// parsed from their shortest decimal string and compared by cross-multiplying.

/** num/den in lowest terms, den > 0. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** num/den reduced. Throws RangeError on a zero denominator (a caller bug). */
export function rational(num: bigint | number, den: bigint | number = 1n): Rational {
  let n = BigInt(num);
  let d = BigInt(den);
  if (d === 0n) throw new RangeError("rational: zero denominator");
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { num: n / g, den: d / g } : { num: n, den: d };
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/**
 * A decimal string such as `0.999`, `99.95`, `1e-7` as an exact rational, or
 * null when it is not one.
 */
export function parseDecimal(text: string): Rational | null {
  const match = DECIMAL.exec(text.trim());
  if (match === null) return null;
  const [, sign, whole, fraction = "", exponentText = "0"] = match;
  const exponent = Number(exponentText) - fraction.length;
  // A bigger exponent would build a BigInt of millions of digits from a config typo.
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) return null;
  let num = BigInt(`${whole}${fraction}`);
  if (sign === "-") num = -num;
  return exponent >= 0 ? rational(num * 10n ** BigInt(exponent), 1n) : rational(num, 10n ** BigInt(-exponent));
}

/**
 * A finite JS number as the decimal it was written as: 0.999 becomes 999/1000
 * (its shortest round-trip string), not the binary fraction the double holds.
 * Throws RangeError for NaN and infinities.
 */
export function fromNumber(value: number): Rational {
  if (!Number.isFinite(value)) throw new RangeError(`rational: not a finite number: ${value}`);
  const parsed = parseDecimal(String(value));
  if (parsed === null) throw new RangeError(`rational: cannot parse ${value}`);
  return parsed;
}

export function add(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subtract(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den - b.num * a.den, a.den * b.den);
}

export function multiply(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

/** Throws RangeError when b is zero. */
export function divide(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den, a.den * b.num);
}

/** −1, 0 or 1 as a is less than, equal to or greater than b. */
export function compare(a: Rational, b: Rational): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The nearest double (exact rounding while num and den are below 2^53; otherwise via a 21-digit decimal). */
export function toNumber(value: Rational): number {
  const safe = BigInt(Number.MAX_SAFE_INTEGER);
  const abs = value.num < 0n ? -value.num : value.num;
  if (abs <= safe && value.den <= safe) return Number(value.num) / Number(value.den);
  // Number(bigint) overflows past ~1e308 (a 1e-320 objective has such a denominator): let the decimal parser round instead.
  const shift = Math.max(0, 21 + value.den.toString().length - abs.toString().length);
  const digits = (abs * 10n ** BigInt(shift)) / value.den;
  const magnitude = Number(`${digits}e-${shift}`);
  return value.num < 0n ? -magnitude : magnitude;
}

/**
 * Strictly `bad/total > factor × (1 − objective)`, by cross-multiplication:
 * bad·f_d·o_d > f_n·(o_d − o_n)·total. False when total is 0 (no events, no burn).
 */
export function errorRatioExceeds(bad: number | bigint, total: number | bigint, factor: Rational, objective: Rational): boolean {
  const b = BigInt(bad);
  const t = BigInt(total);
  if (t <= 0n) return false;
  return b * factor.den * objective.den > factor.num * (objective.den - objective.num) * t;
}

/**
 * The exact decimal text of a rational whose denominator has no prime factor
 * but 2 and 5 (`336/25000` → `0.01344`), for thresholds written into rules
 * other tools parse. Throws RangeError for one with no finite decimal (1/3).
 */
export function toDecimalString(value: Rational): string {
  let rest = value.den;
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) [rest, twos] = [rest / 2n, twos + 1];
  while (rest % 5n === 0n) [rest, fives] = [rest / 5n, fives + 1];
  if (rest !== 1n) throw new RangeError(`rational: ${value.num}/${value.den} has no finite decimal`);
  const places = Math.max(twos, fives);
  const negative = value.num < 0n;
  const scaled = ((negative ? -value.num : value.num) * 10n ** BigInt(places)) / value.den;
  const digits = scaled.toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places).replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}
