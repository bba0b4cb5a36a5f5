/**
 * Tokens of the protobuf text format (protobuf.dev/reference/protobuf/textformat-spec):
 * identifiers, integers (decimal, 0x hex, 0 octal), floats (with an optional f suffix), quoted
 * strings decoded to bytes, and one-character symbols. Whitespace and `#` comments are skipped.
 * Lines and columns are 1-based and count characters.
 */
import { ConfigError } from './config_error';

/** Text that is not a valid message of its type: "file:line:column: what" (1-based, as protobuf counts). */
export class TextFormatError extends ConfigError {
  constructor(
    readonly fileName: string,
    readonly at: Position,
    readonly detail: string,
  ) {
    super(`${fileName}:${at.line}:${at.column}: ${detail}`);
  }
}

export type TokenKind = 'identifier' | 'integer' | 'float' | 'string' | 'symbol' | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** The source text (for a string: with its quotes). */
  readonly text: string;
  readonly line: number;
  readonly column: number;
  /** A string token's value after escapes, as bytes. */
  readonly bytes?: Uint8Array;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '.', '/']);
const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};

const TOKEN_KIND_NAMES = { identifier: 'a name', integer: 'a number', float: 'a number', string: 'a string' } as const;

export class Tokenizer {
  private offset = 0;
  private line = 1;
  private column = 1;
  private lookahead: Token;

  /** `quoteText`: whether messages may quote the text (see TextFormatOptions). */
  constructor(
    private readonly text: string,
    private readonly fileName: string,
    readonly quoteText = true,
  ) {
    this.lookahead = this.read();
  }

  /** A token as messages show it: quoted, or (when the text may not be quoted) by its kind. */
  show(token: Token): string {
    if (token.kind === 'end') return 'end of input';
    if (this.quoteText || token.kind === 'symbol') return `'${token.text}'`;
    return TOKEN_KIND_NAMES[token.kind];
  }

  peek(): Token {
    return this.lookahead;
  }

  next(): Token {
    const token = this.lookahead;
    if (token.kind !== 'end') this.lookahead = this.read();
    return token;
  }

  /** Consumes the symbol if it comes next. */
  trySymbol(symbol: string): boolean {
    if (this.lookahead.kind !== 'symbol' || this.lookahead.text !== symbol) return false;
    this.next();
    return true;
  }

  error(at: Position, message: string): TextFormatError {
    return new TextFormatError(this.fileName, at, message);
  }

  private read(): Token {
    this.skipSpaceAndComments();
    const start = { line: this.line, column: this.column };
    const begin = this.offset;
    if (begin >= this.text.length) return { kind: 'end', text: '', ...start };
    const c = this.text[begin];
    let kind: TokenKind;
    let bytes: Uint8Array | undefined;
    if (isLetter(c)) {
      while (isIdentifierChar(this.text[this.offset])) this.advance();
      kind = 'identifier';
    } else if (isDigit(c) || (c === '.' && isDigit(this.text[begin + 1]))) {
      kind = this.readNumber(start);
    } else if (c === '"' || c === "'") {
      bytes = this.readString(c, start);
      kind = 'string';
    } else if (SYMBOLS.has(c)) {
      this.advance();
      kind = 'symbol';
    } else {
      throw this.error(start, this.quoteText ? `invalid character ${JSON.stringify(c)}` : 'invalid character');
    }
    return { kind, text: this.text.slice(begin, this.offset), ...start, bytes };
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const c = this.text[this.offset];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f') {
        this.advance();
      } else if (c === '#') {
        while (this.offset < this.text.length && this.text[this.offset] !== '\n') this.advance();
      } else {
        return;
      }
    }
  }

  private readNumber(start: Position): TokenKind {
    const text = this.text;
    let kind: TokenKind = 'integer';
    if (text[this.offset] === '0' && (text[this.offset + 1] === 'x' || text[this.offset + 1] === 'X')) {
      this.advance(2);
      if (!isHexDigit(text[this.offset])) throw this.error(start, '"0x" must be followed by hex digits');
      while (isHexDigit(text[this.offset])) this.advance();
    } else if (text[this.offset] === '0' && isDigit(text[this.offset + 1])) {
      this.advance();
      while (isDigit(text[this.offset])) {
        if (text[this.offset] > '7') throw this.error(start, 'numbers starting with 0 must be octal');
        this.advance();
      }
    } else {
      while (isDigit(text[this.offset])) this.advance();
      if (text[this.offset] === '.') {
        kind = 'float';
        this.advance();
        while (isDigit(text[this.offset])) this.advance();
      }
      if (text[this.offset] === 'e' || text[this.offset] === 'E') {
        kind = 'float';
        this.advance();
        if (text[this.offset] === '+' || text[this.offset] === '-') this.advance();
        if (!isDigit(text[this.offset])) throw this.error(start, 'exponent must have digits');
        while (isDigit(text[this.offset])) this.advance();
      }
      if (text[this.offset] === 'f' || text[this.offset] === 'F') {
        kind = 'float';
        this.advance();
      }
    }
    if (isIdentifierChar(text[this.offset]) || text[this.offset] === '.') {
      throw this.error(start, 'a number must be followed by a space or a symbol');
    }
    return kind;
  }

  /** Reads a quoted string and returns its bytes: escapes give bytes, other characters UTF-8. */
  private readString(quote: string, start: Position): Uint8Array {
    const bytes: number[] = [];
    let pendingHighSurrogate: number | undefined;
    this.advance();
    for (;;) {
      const at = { line: this.line, column: this.column };
      if (pendingHighSurrogate !== undefined && !this.text.startsWith('\\u', this.offset)) {
        throw this.error(at, 'unpaired surrogate \\u escape');
      }
      const c = this.text[this.offset];
      if (c === undefined || c === '\n') throw this.error(start, 'string is not closed on its line');
      if (c === quote) {
        this.advance();
        return Uint8Array.from(bytes);
      }
      if (c !== '\\') {
        const codePoint = this.text.codePointAt(this.offset)!;
        pushUtf8(bytes, codePoint);
        this.advance(codePoint > 0xffff ? 2 : 1);
        continue;
      }
      this.advance();
      const e = this.text[this.offset] ?? '';
      if (e in SIMPLE_ESCAPES) {
        bytes.push(SIMPLE_ESCAPES[e]);
        this.advance();
      } else if (e >= '0' && e <= '7') {
        const digits = this.take(/[0-7]/, 3);
        const value = parseInt(digits, 8);
        if (value > 0xff) throw this.error(at, `octal escape \\${digits} is larger than a byte`);
        bytes.push(value);
      } else if (e === 'x' || e === 'X') {
        this.advance();
        const digits = this.take(/[0-9a-fA-F]/, 2);
        if (digits === '') throw this.error(at, '\\x must be followed by hex digits');
        bytes.push(parseInt(digits, 16));
      } else if (e === 'u' || e === 'U') {
        this.advance();
        const width = e === 'u' ? 4 : 8;
        const digits = this.take(/[0-9a-fA-F]/, width);
        if (digits.length !== width) throw this.error(at, `\\${e} must be followed by ${width} hex digits`);
        let codePoint = parseInt(digits, 16);
        if (codePoint >= 0xd800 && codePoint <= 0xdbff && pendingHighSurrogate === undefined) {
          pendingHighSurrogate = codePoint;
          continue;
        }
        if (pendingHighSurrogate !== undefined) {
          if (codePoint < 0xdc00 || codePoint > 0xdfff) throw this.error(at, 'unpaired surrogate \\u escape');
          codePoint = 0x10000 + ((pendingHighSurrogate - 0xd800) << 10) + (codePoint - 0xdc00);
          pendingHighSurrogate = undefined;
        } else if (codePoint >= 0xdc00 && codePoint <= 0xdfff) {
          throw this.error(at, 'unpaired surrogate \\u escape');
        }
        if (codePoint > 0x10ffff) throw this.error(at, `\\U${digits} is not a Unicode code point`);
        pushUtf8(bytes, codePoint);
      } else {
        throw this.error(at, `invalid escape sequence \\${e}`);
      }
    }
  }

  private take(charPattern: RegExp, max: number): string {
    const begin = this.offset;
    while (this.offset - begin < max && charPattern.test(this.text[this.offset] ?? '')) this.advance();
    return this.text.slice(begin, this.offset);
  }

  private advance(count = 1): void {
    for (let i = 0; i < count; i++) {
      if (this.text[this.offset] === '\n') {
        this.line++;
        this.column = 1;
      } else {
        this.column++;
      }
      this.offset++;
    }
  }
}

function pushUtf8(bytes: number[], codePoint: number): void {
  if (codePoint < 0x80) {
    bytes.push(codePoint);
  } else if (codePoint < 0x800) {
    bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  } else if (codePoint < 0x10000) {
    bytes.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  } else {
    bytes.push(
      0xf0 | (codePoint >> 18),
      0x80 | ((codePoint >> 12) & 0x3f),
      0x80 | ((codePoint >> 6) & 0x3f),
      0x80 | (codePoint & 0x3f),
    );
  }
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHexDigit = (c: string | undefined) => c !== undefined && /[0-9a-fA-F]/.test(c);
const isLetter = (c: string | undefined) => c !== undefined && /[A-Za-z_]/.test(c);
const isIdentifierChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
