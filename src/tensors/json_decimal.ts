/**
 * Floating-point numbers as TF-Serving writes them in JSON (json_tensor.cc WriteDecimal):
 * six significant digits ("%g") when that reads back as the same value, else full precision
 * (9 digits for float, 17 for double); whole numbers get ".0" so that clients see a decimal;
 * non-finite values are the bare tokens NaN, Infinity, -Infinity.
 */
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** `value` must already be a float32 value (from a Float32Array, or a widened half). */
export function formatFloat32(value: number): string {
  return writeDecimal(value, 9, (text) => Math.fround(Number(text)) === value);
}

export function formatFloat64(value: number): string {
  return writeDecimal(value, 17, (text) => Number(text) === value);
}

function writeDecimal(value: number, fullDigits: number, readsBack: (text: string) => boolean): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value < 0 ? '-Infinity' : 'Infinity';
  let text = formatG(value, 6);
  if (!readsBack(text)) text = formatG(value, fullDigits);
  if (!text.includes('.') && !text.includes('e')) text += '.0';
  return text;
}

/** C's printf("%.<precision>g"), rounding exact ties to even as glibc and absl do. */
export function formatG(value: number, precision: number): string {
  const sign = value < 0 || Object.is(value, -0) ? '-' : '';
  const magnitude = Math.abs(value);
  if (magnitude === 0) return `${sign}0`;
  const [digits, exponent] = significantDigits(magnitude, precision);
  if (exponent < -4 || exponent >= precision) {
    const fraction = digits.slice(1).replace(/0+$/, '');
    const exponentText = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${digits[0]}${fraction ? '.' + fraction : ''}e${exponent < 0 ? '-' : '+'}${exponentText}`;
  }
  const integer = exponent >= 0 ? digits.slice(0, exponent + 1) : '0';
  const fraction = (exponent >= 0 ? digits.slice(exponent + 1) : '0'.repeat(-exponent - 1) + digits).replace(/0+$/, '');
  return `${sign}${integer}${fraction ? '.' + fraction : ''}`;
}

/** `precision` significant digits of a positive finite number, and its decimal exponent. */
function significantDigits(magnitude: number, precision: number): [string, number] {
  const rounded = splitExponential(magnitude.toExponential(precision - 1));
  // toExponential rounds exact ties up; printf rounds them to even.
  const longer = magnitude.toExponential(precision);
  if (longer[longer.indexOf('e') - 1] === '5' && Number(longer) === magnitude && isExactly(magnitude, longer)) {
    const [longDigits, longExponent] = splitExponential(longer);
    const truncated = longDigits.slice(0, precision);
    if (Number(truncated[precision - 1]) % 2 === 0) return [truncated, longExponent];
  }
  return rounded;
}

function splitExponential(text: string): [string, number] {
  const [mantissa, exponent] = text.split('e');
  return [mantissa.replace('.', ''), Number(exponent)];
}

/** Whether the double `value` equals the decimal `text` ("d.ddde±x") exactly. */
function isExactly(value: number, text: string): boolean {
  const [digits, exponent] = splitExponential(text);
  f64[0] = value;
  const bits = u64[0];
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  let binary = biased === 0 ? fraction : fraction | (1n << 52n);
  const binaryExponent = biased === 0 ? -1074 : biased - 1075;
  let decimal = BigInt(digits);
  const decimalExponent = exponent - (digits.length - 1);
  // binary * 2^binaryExponent == decimal * 10^decimalExponent, with both sides made integral.
  if (binaryExponent < 0) decimal <<= BigInt(-binaryExponent);
  else binary <<= BigInt(binaryExponent);
  if (decimalExponent < 0) binary *= 10n ** BigInt(-decimalExponent);
  else decimal *= 10n ** BigInt(decimalExponent);
  return binary === decimal;
}
