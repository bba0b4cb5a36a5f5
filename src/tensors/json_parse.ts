/**
 * Parses a request body the way TF-Serving does (rapidjson with kParseNanAndInfFlag): strict
 * JSON plus the tokens NaN, Inf, Infinity (optionally negative), and rapidjson's error
 * messages with UTF-8 byte offsets. Integers beyond 2^53 come back as bigint, exact.
 *
 * JSON.parse does the common case; the parser here runs only when it cannot (non-finite
 * tokens, long integers that JSON.parse would round, or an error to describe).
 */
import { invalidArgument, ServingError } from '../errors/serving_error';

/**
 * A JSON document as read here. Integers beyond 2^53 are kept exact as bigint (int64/uint64
 * inputs need every digit); NaN and ±Infinity are numbers, as TF-Serving accepts them.
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * What JSON.parse would get wrong: integer literals long enough to exceed 2^53 (it rounds
 * them; long fractions such as Python's float reprs are fine), exponents that may overflow (it gives Infinity), and escaped high surrogates (it
 * accepts them unpaired). rapidjson keeps the first, rejects the others.
 */
const NEEDS_LENIENT_PARSER = /(?<![\d.])\d{16,}(?![\d.eE])|[eE][+-]?\d{3}|\\u[dD][89abAB]/;

export interface JsonParseOptions {
  /**
   * Every integer literal (no fraction, no exponent) comes back as bigint and every other
   * number as a JS number, telling apart what rapidjson calls Int64 and Double ("1" vs "1.0"):
   * TF-Serving's tf.Example features are int64_list for the one and float_list for the other.
   */
  integersAsBigInt?: boolean;
}

export function parseJsonText(text: string, options: JsonParseOptions = {}): JsonValue {
  if (text.length === 0) throw invalidArgument('JSON Parse error: The document is empty');
  if (!options.integersAsBigInt && !NEEDS_LENIENT_PARSER.test(text)) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Fall through: NaN/Infinity, or a syntax error described the rapidjson way.
    }
  }
  try {
    return new LenientJsonParser(text, options.integersAsBigInt ?? false).document();
  } catch (error) {
    // The parser recurses per nesting level; a pathological document must stay a 400.
    if (error instanceof RangeError) throw invalidArgument('JSON Parse error: The document nests too deeply');
    throw error;
  }
}

/** Where and why a document is not JSON, in rapidjson's words; the message never quotes the text. */
export class JsonSyntaxError extends ServingError {
  constructor(
    /** rapidjson's description ("Invalid value."). */
    readonly problem: string,
    /** The UTF-16 index in the text where the problem is. */
    readonly index: number,
    byteOffset: number,
  ) {
    super('INVALID_ARGUMENT', `JSON Parse error: ${problem} at offset: ${byteOffset}`);
  }
}

/** The first syntax error in `text` as rapidjson reads it; undefined when it parses. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    new LenientJsonParser(text, false).document();
    return undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    if (error instanceof RangeError) return new JsonSyntaxError('The document nests too deeply.', 0, 0);
    throw error;
  }
}

const enum Char {
  Tab = 0x09,
  LineFeed = 0x0a,
  CarriageReturn = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Plus = 0x2b,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  One = 0x31,
  Nine = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  UpperI = 0x49,
  UpperN = 0x4e,
  OpenBracket = 0x5b,
  Backslash = 0x5c,
  CloseBracket = 0x5d,
  LowerE = 0x65,
  LowerF = 0x66,
  LowerN = 0x6e,
  LowerT = 0x74,
  LowerU = 0x75,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class LenientJsonParser {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly integersAsBigInt: boolean,
  ) {}

  document(): JsonValue {
    this.skipWhitespace();
    if (this.at >= this.text.length) this.fail('The document is empty.', this.at);
    const value = this.value();
    this.skipWhitespace();
    if (this.at < this.text.length) this.fail('The document root must not be followed by other values.', this.at);
    return value;
  }

  private value(): JsonValue {
    switch (this.peek()) {
      case Char.LowerN:
        return this.literal('null', null);
      case Char.LowerT:
        return this.literal('true', true);
      case Char.LowerF:
        return this.literal('false', false);
      case Char.Quote:
        return this.string();
      case Char.OpenBrace:
        return this.object();
      case Char.OpenBracket:
        return this.array();
      default:
        return this.number();
    }
  }

  private object(): JsonObject {
    this.at++;
    const object: JsonObject = {};
    this.skipWhitespace();
    if (this.peek() === Char.CloseBrace) {
      this.at++;
      return object;
    }
    for (;;) {
      if (this.peek() !== Char.Quote) this.fail('Missing a name for object member.', this.at);
      const key = this.string();
      this.skipWhitespace();
      if (this.peek() !== Char.Colon) this.fail('Missing a colon after a name of object member.', this.at);
      this.at++;
      this.skipWhitespace();
      // defineProperty: a "__proto__" member is data, as with JSON.parse.
      Object.defineProperty(object, key, { value: this.value(), enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.peek();
      this.at++;
      if (next === Char.CloseBrace) return object;
      if (next !== Char.Comma) this.fail("Missing a comma or '}' after an object member.", this.at - 1);
      this.skipWhitespace();
    }
  }

  private array(): JsonValue[] {
    this.at++;
    const array: JsonValue[] = [];
    this.skipWhitespace();
    if (this.peek() === Char.CloseBracket) {
      this.at++;
      return array;
    }
    for (;;) {
      array.push(this.value());
      this.skipWhitespace();
      const next = this.peek();
      this.at++;
      if (next === Char.CloseBracket) return array;
      if (next !== Char.Comma) this.fail("Missing a comma or ']' after an array element.", this.at - 1);
      this.skipWhitespace();
    }
  }

  private string(): string {
    this.at++;
    let result = '';
    let runStart = this.at;
    for (;;) {
      const char = this.peek();
      if (char === Char.Quote) {
        result += this.text.slice(runStart, this.at);
        this.at++;
        return result;
      }
      if (char === Char.Backslash) {
        result += this.text.slice(runStart, this.at) + this.escape();
        runStart = this.at;
        continue;
      }
      if (char < Char.Space) {
        // End of input reads as '\0', as in rapidjson's memory stream.
        this.fail(char <= 0 ? 'Missing a closing quotation mark in string.' : 'Invalid encoding in string.', this.at);
      }
      this.at++;
    }
  }

  private escape(): string {
    const escapeAt = this.at;
    const kind = this.text[this.at + 1];
    this.at += 2;
    if (kind !== undefined && Object.prototype.hasOwnProperty.call(SIMPLE_ESCAPES, kind)) return SIMPLE_ESCAPES[kind];
    if (kind !== 'u') this.fail('Invalid escape character in string.', escapeAt);
    const unit = this.hex4(escapeAt);
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (this.text[this.at] !== '\\' || this.text[this.at + 1] !== 'u') {
      this.fail('The surrogate pair in string is invalid.', escapeAt);
    }
    this.at += 2;
    const low = this.hex4(escapeAt);
    if (low < 0xdc00 || low > 0xdfff) this.fail('The surrogate pair in string is invalid.', escapeAt);
    return String.fromCharCode(unit, low);
  }

  private hex4(escapeAt: number): number {
    const digits = this.text.slice(this.at, this.at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('Incorrect hex digit after \\u escape in string.', escapeAt);
    this.at += 4;
    return parseInt(digits, 16);
  }

  private number(): number | bigint {
    const start = this.at;
    const negative = this.peek() === Char.Minus;
    if (negative) this.at++;
    const first = this.peek();
    if (first === Char.UpperN || first === Char.UpperI) return this.nonFinite(negative);
    if (first === Char.Zero) this.at++;
    else if (first >= Char.One && first <= Char.Nine) this.digits();
    else this.fail('Invalid value.', this.at);
    let integral = true;
    if (this.peek() === Char.Dot) {
      integral = false;
      this.at++;
      if (!this.isDigit()) this.fail('Miss fraction part in number.', this.at);
      this.digits();
    }
    if (this.peek() === Char.LowerE || this.peek() === Char.UpperE) {
      integral = false;
      this.at++;
      if (this.peek() === Char.Plus || this.peek() === Char.Minus) this.at++;
      if (!this.isDigit()) this.fail('Miss exponent in number.', this.at);
      this.digits();
    }
    const literal = this.text.slice(start, this.at);
    const value = Number(literal);
    if (integral && (this.integersAsBigInt || !Number.isSafeInteger(value))) return BigInt(literal);
    if (!Number.isFinite(value)) this.fail('Number too big to be stored in double.', start);
    return value;
  }

  private nonFinite(negative: boolean): number {
    if (this.consume('NaN')) return NaN;
    if (this.consume('Inf')) {
      if (this.peek() === 0x69 /* i */ && !this.consume('inity')) this.fail('Invalid value.', this.at);
      return negative ? -Infinity : Infinity;
    }
    return this.fail('Invalid value.', this.at);
  }

  /** Consumes `word` as far as it matches; true if all of it did. */
  private consume(word: string): boolean {
    for (const char of word) {
      if (this.text[this.at] !== char) return false;
      this.at++;
    }
    return true;
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    this.at++;
    if (!this.consume(word.slice(1))) this.fail('Invalid value.', this.at);
    return value;
  }

  private digits(): void {
    while (this.isDigit()) this.at++;
  }

  private isDigit(): boolean {
    const char = this.peek();
    return char >= Char.Zero && char <= Char.Nine;
  }

  /** The code unit at the cursor; -1 past the end. */
  private peek(): number {
    return this.at < this.text.length ? this.text.charCodeAt(this.at) : -1;
  }

  private skipWhitespace(): void {
    for (;;) {
      const char = this.peek();
      if (char !== Char.Space && char !== Char.LineFeed && char !== Char.CarriageReturn && char !== Char.Tab) return;
      this.at++;
    }
  }

  private fail(message: string, at: number): never {
    throw new JsonSyntaxError(message, at, Buffer.byteLength(this.text.slice(0, at), 'utf8'));
  }
}
