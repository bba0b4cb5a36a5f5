/**
 * Floating-point numbers as TF-Serving writes them in JSON (json_tensor.cc WriteDecimal):
 * six significant digits ("%g") when that reads back as the same value, else full precision
 * (9 digits for float, 17 for double); whole numbers get ".0" so that clients see a decimal;
 * non-finite values are the bare tokens NaN, Infinity, -Infinity.
 *
 * Outputs can hold millions of values, so the common path is one toPrecision() per attempt
 * plus a little string surgery; the exact tie check runs only for values a cheap test flags.
 */
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** `value` must already be a float32 value (from a Float32Array, or a widened half). */
export function formatFloat32(value: number): string {
  if (value !== value) return 'NaN';
  if (value === 0 || value === Infinity || value === -Infinity) return special(value);
  const short = value.toPrecision(6);
  // Ties at six digits never read back, so the short form needs no tie handling.
  const text = Math.fround(+short) === value ? printfStyle(short) : formatG(value, 9);
  return withDecimalPoint(text);
}

export function formatFloat64(value: number): string {
  if (value !== value) return 'NaN';
  if (value === 0 || value === Infinity || value === -Infinity) return special(value);
  const short = value.toPrecision(6);
  const text = +short === value ? printfStyle(short) : formatG(value, 17);
  return withDecimalPoint(text);
}

function special(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  return value < 0 ? '-Infinity' : 'Infinity';
}

function withDecimalPoint(text: string): string {
  return text.indexOf('.') < 0 && text.indexOf('e') < 0 ? text + '.0' : text;
}

/** C's printf("%.<precision>g") of a finite number, rounding exact ties to even as glibc and absl do. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const text = value.toPrecision(precision);
  if (!mayBeTie(value, precision)) return printfStyle(text);
  const magnitude = Math.abs(value);
  const longer = magnitude.toExponential(precision);
  const ePos = longer.indexOf('e');
  const tie = longer.charCodeAt(ePos - 1) === 0x35 && isExactly(magnitude, longer);
  const lastKept = longer.charCodeAt(precision === 1 ? 0 : ePos - 2) - 0x30;
  if (!tie || lastKept % 2 === 1) return printfStyle(text);
  // An exact tie with an even last kept digit: truncating drops the 5 (rounds to even).
  const digits = longer[0] + longer.slice(2, ePos - 1);
  return (value < 0 ? '-' : '') + fromDigits(digits, +longer.slice(ePos + 1), precision);
}

/**
 * toPrecision()'s text in printf's %g form: trailing zeros dropped, exponent form below
 * 1e-4 (toPrecision waits until 1e-6) and with at least two exponent digits.
 */
function printfStyle(text: string): string {
  const ePos = text.indexOf('e');
  if (ePos >= 0) {
    const exponentDigits = text.length - ePos - 2;
    const exponent = exponentDigits === 1 ? `${text[ePos + 1]}0${text[ePos + 2]}` : text.slice(ePos + 1);
    return `${withoutTrailingZeros(text.slice(0, ePos))}e${exponent}`;
  }
  const negative = text.charCodeAt(0) === 0x2d;
  const unsigned = negative ? text.slice(1) : text;
  if (!unsigned.startsWith('0.0000')) return withoutTrailingZeros(text);
  // 1e-6 <= |value| < 1e-4: printf switches to exponent form where toPrecision does not.
  let first = 2;
  while (unsigned.charCodeAt(first) === 0x30) first++;
  const precision = unsigned.length - first;
  return (negative ? '-' : '') + fromDigits(unsigned.slice(first), 1 - first, precision);
}

/** %g of the decimal d.ddd x 10^exponent, given exactly `precision` digits. */
function fromDigits(digits: string, exponent: number, precision: number): string {
  const trimmed = withoutTrailingZeros(`${digits[0]}.${digits.slice(1)}`);
  if (exponent < -4 || exponent >= precision) {
    const size = Math.abs(exponent);
    return `${trimmed}e${exponent < 0 ? '-' : '+'}${size < 10 ? '0' : ''}${size}`;
  }
  const plain = trimmed.replace('.', '');
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${plain}`;
  if (plain.length <= exponent + 1) return plain + '0'.repeat(exponent + 1 - plain.length);
  return `${plain.slice(0, exponent + 1)}.${plain.slice(exponent + 1)}`;
}

function withoutTrailingZeros(text: string): string {
  if (text.indexOf('.') < 0) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 0x30) end--;
  if (text.charCodeAt(end - 1) === 0x2e) end--;
  return text.slice(0, end);
}

/**
 * Whether `value` may lie exactly halfway between two `precision`-digit decimals, where
 * toPrecision's round-half-up and printf's round-half-even differ. A tie needs an exact
 * decimal expansion of precision+1 digits; a value with k > 0 fractional bits has at least
 * k*log10(5) of them, so only values with few fractional bits qualify (the exact test decides).
 */
function mayBeTie(value: number, precision: number): boolean {
  const fractionalBits = Math.ceil((precision + 1) / Math.LOG10E / Math.log(5));
  return Number.isInteger(value) || Number.isInteger(value * 2 ** fractionalBits);
}

/** Whether the double `value` equals the decimal `text` ("d.ddde±x") exactly. */
function isExactly(value: number, text: string): boolean {
  const ePos = text.indexOf('e');
  const digits = text[0] + text.slice(2, ePos);
  const decimalExponent = +text.slice(ePos + 1) - (digits.length - 1);
  f64[0] = value;
  const bits = u64[0];
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  let binary = biased === 0 ? fraction : fraction | (1n << 52n);
  const binaryExponent = biased === 0 ? -1074 : biased - 1075;
  let decimal = BigInt(digits);
  // binary * 2^binaryExponent == decimal * 10^decimalExponent, with both sides made integral.
  if (binaryExponent < 0) decimal <<= BigInt(-binaryExponent);
  else binary <<= BigInt(binaryExponent);
  if (decimalExponent < 0) binary *= 10n ** BigInt(-decimalExponent);
  else decimal *= 10n ** BigInt(decimalExponent);
  return binary === decimal;
}
