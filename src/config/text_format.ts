/**
 * A protobuf text-format parser driven by protobufjs reflection, so it reads any message type
 * of src/protos (ModelServerConfig, and later BatchingParameters, MonitoringConfig, ...).
 * No npm package does this well (protobuf-textformat 1.0.0 wraps a git fork of ProtoBuf.js 3).
 *
 * Accepted, as protobuf's C++ TextFormat::Parser accepts it: `name: value`; `name { ... }` and
 * `name < ... >` with an optional ':'; repeated fields by repetition or `name: [a, b]`; enums by
 * name or number; strings in either quotes with C escapes (\n \t \\ \' \" \ooo \xHH \uXXXX),
 * adjacent strings concatenated; `#` comments; an optional ',' or ';' after each field; map
 * fields as repeated `{ key: .. value: .. }` entries; a google.protobuf.Any either by its
 * type_url and value fields or in the expanded form `[type.googleapis.com/full.Name] { ... }`,
 * whose message type must be in the same protobufjs root. Not accepted: extensions. As with
 * TextFormat::Parse, a non-repeated field given twice, or two members of one oneof, are errors.
 *
 * Errors are ConfigErrors "file:line:column: what".
 */
import * as protobuf from 'protobufjs';
import { Position, Token, Tokenizer } from './text_format_tokenizer';

export interface TextFormatOptions {
  /**
   * Whether error messages may quote the text (default true, as protobuf's parser does).
   * False for model files: their load errors reach clients (GetModelStatus), and a file may be
   * anything, a link to /etc/passwd included; messages then name a token's kind, never its text.
   */
  quoteText?: boolean;
}

/** Parses `text` as a `type` message. */
export function parseTextFormat(
  type: protobuf.Type,
  text: string,
  fileName: string,
  options: TextFormatOptions = {},
): protobuf.Message {
  return type.fromObject(parseTextFormatToObject(type, text, fileName, options));
}

/**
 * The same, as the plain object protobufjs' fromObject takes: keepCase field names, enums as
 * numbers, 64-bit integers as decimal strings, bytes as Buffers, maps as objects.
 */
export function parseTextFormatToObject(
  type: protobuf.Type,
  text: string,
  fileName: string,
  options: TextFormatOptions = {},
): PlainMessage {
  const parser = new Parser(new Tokenizer(text, fileName, options.quoteText ?? true));
  return parser.parseMessage(messageShape(type), undefined);
}

export type PlainMessage = { [field: string]: unknown };

/** What the parser needs to know of a field; map entries get a synthetic shape. */
interface FieldShape {
  readonly name: string;
  /** A scalar type name ('int64', 'string', ...), 'enum' or 'message'. */
  readonly type: string;
  readonly repeated: boolean;
  readonly map?: { readonly entry: MessageShape };
  readonly message?: MessageShape;
  readonly enumType?: protobuf.Enum;
  readonly oneof?: string;
}

interface MessageShape {
  readonly fullName: string;
  field(name: string): FieldShape | undefined;
  /** The message type (absent for the synthetic map entries). */
  readonly type?: protobuf.Type;
}

const shapes = new WeakMap<protobuf.Type, MessageShape>();

/** Field shapes are built on first use: message types may contain themselves. */
function messageShape(type: protobuf.Type): MessageShape {
  const cached = shapes.get(type);
  if (cached !== undefined) return cached;
  const fullName = type.fullName.replace(/^\./, '');
  const fields = new Map<string, FieldShape>();
  const shape: MessageShape = {
    fullName,
    type,
    field(name) {
      if (!fields.has(name) && Object.prototype.hasOwnProperty.call(type.fields, name)) {
        fields.set(name, fieldShape(type.fields[name].resolve(), fullName));
      }
      return fields.get(name);
    },
  };
  shapes.set(type, shape);
  return shape;
}

function fieldShape(field: protobuf.Field, ownerName: string): FieldShape {
  const base = { name: field.name, oneof: field.partOf?.name };
  if (field instanceof protobuf.MapField) {
    const key: FieldShape = { name: 'key', type: field.keyType, repeated: false };
    const value = valueShape(field, 'value');
    const entryName = `${ownerName}.${field.name}Entry`;
    const entry: MessageShape = {
      fullName: entryName,
      field: (name) => (name === 'key' ? key : name === 'value' ? value : undefined),
    };
    return { ...base, type: 'message', repeated: true, map: { entry } };
  }
  return { ...base, ...valueShape(field, field.name), repeated: field.repeated };
}

function valueShape(field: protobuf.Field, name: string): FieldShape {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    return { name, type: 'message', repeated: false, message: messageShape(resolved) };
  }
  if (resolved instanceof protobuf.Enum) return { name, type: 'enum', repeated: false, enumType: resolved };
  return { name, type: field.type, repeated: false };
}

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
const CLOSERS: Record<string, string | undefined> = { '{': '}', '<': '>' };
const ANY_TYPE = 'google.protobuf.Any';
/** The type URL prefixes C++'s TextFormat accepts in the expanded Any form. */
const ANY_URL_PREFIXES = ['type.googleapis.com', 'type.googleprod.com'];
const LONG_TYPES = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Parser {
  constructor(private readonly tokens: Tokenizer) {}

  /** Fields up to `closer` ('}' or '>'), or to the end of the input when it is undefined. */
  parseMessage(shape: MessageShape, closer: string | undefined): PlainMessage {
    const result: PlainMessage = {};
    const given = new Set<string>();
    const oneofMembers = new Map<string, string>();
    for (;;) {
      const token = this.tokens.peek();
      if (closer === undefined && token.kind === 'end') return result;
      if (closer !== undefined && this.tokens.trySymbol(closer)) return result;
      if (token.kind === 'end') {
        throw this.fail(token, `expected "${closer}" to close ${shape.fullName}, got end of input`);
      }
      this.parseField(shape, result, given, oneofMembers);
      if (!this.tokens.trySymbol(';')) this.tokens.trySymbol(',');
    }
  }

  private parseField(
    shape: MessageShape,
    result: PlainMessage,
    given: Set<string>,
    oneofMembers: Map<string, string>,
  ): void {
    const nameToken = this.tokens.next();
    if (nameToken.kind === 'symbol' && nameToken.text === '[') {
      this.parseExpandedAny(shape, nameToken, result, given);
      return;
    }
    if (nameToken.kind !== 'identifier') {
      throw this.fail(nameToken, `expected a field name, got ${this.tokens.show(nameToken)}`);
    }
    const field = shape.field(nameToken.text);
    if (field === undefined) throw this.fail(nameToken, `unknown field${this.quoted(nameToken)} in ${shape.fullName}`);
    if (!field.repeated && given.has(field.name)) {
      throw this.fail(nameToken, `non-repeated field '${field.name}' is specified more than once`);
    }
    given.add(field.name);
    if (field.oneof !== undefined) {
      const other = oneofMembers.get(field.oneof);
      if (other !== undefined && other !== field.name) {
        const message = `field '${field.name}' is set along with '${other}', another member of oneof '${field.oneof}'`;
        throw this.fail(nameToken, message);
      }
      oneofMembers.set(field.oneof, field.name);
    }

    const isMessage = field.type === 'message';
    if (!this.tokens.trySymbol(':') && !isMessage) {
      throw this.fail(
        this.tokens.peek(),
        `expected ':' after '${field.name}', got ${this.tokens.show(this.tokens.peek())}`,
      );
    }
    const listToken = this.tokens.peek();
    if (this.tokens.trySymbol('[')) {
      if (!field.repeated) throw this.fail(listToken, `list syntax [...] used for non-repeated field '${field.name}'`);
      if (this.tokens.trySymbol(']')) {
        this.store(field, result, undefined);
        return;
      }
      do this.store(field, result, this.parseValue(field));
      while (this.tokens.trySymbol(','));
      this.expectSymbol(']', `to close the list of '${field.name}'`);
    } else {
      this.store(field, result, this.parseValue(field));
    }
  }

  private store(field: FieldShape, result: PlainMessage, value: unknown): void {
    if (field.map !== undefined) {
      const entries = (result[field.name] ??= {}) as PlainMessage;
      if (value === undefined) return;
      const entry = value as PlainMessage;
      const key = String(entry.key ?? defaultValue(field.map.entry.field('key')!));
      const mapValue = entry.value ?? defaultValue(field.map.entry.field('value')!);
      // defineProperty: a key such as "__proto__" is data, not the object's prototype.
      Object.defineProperty(entries, key, { value: mapValue, enumerable: true, writable: true, configurable: true });
    } else if (field.repeated) {
      const list = (result[field.name] ??= []) as unknown[];
      if (value !== undefined) list.push(value);
    } else {
      result[field.name] = value;
    }
  }

  private parseValue(field: FieldShape): unknown {
    if (field.type === 'message') {
      const open = this.tokens.next();
      const closer = open.kind === 'symbol' ? CLOSERS[open.text] : undefined;
      if (closer === undefined) {
        throw this.fail(open, `expected '{' or '<' to open '${field.name}', got ${this.tokens.show(open)}`);
      }
      return this.parseMessage(field.map?.entry ?? field.message!, closer);
    }
    if (field.type === 'string' || field.type === 'bytes') return this.parseStrings(field);
    if (field.type === 'bool') return this.parseBool(field);
    if (field.type === 'enum') return this.parseEnum(field);
    if (field.type === 'float' || field.type === 'double') return this.parseFloat(field);
    return this.parseInteger(field);
  }

  private parseStrings(field: FieldShape): string | Buffer {
    const first = this.tokens.peek();
    if (first.kind !== 'string') {
      throw this.fail(first, `expected a string for '${field.name}', got ${this.tokens.show(first)}`);
    }
    const parts: Uint8Array[] = [];
    while (this.tokens.peek().kind === 'string') parts.push(this.tokens.next().bytes!);
    const bytes = Buffer.concat(parts);
    if (field.type === 'bytes') return bytes;
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.fail(first, `string field '${field.name}' is not valid UTF-8`);
    }
  }

  private parseBool(field: FieldShape): boolean {
    const token = this.tokens.next();
    if (token.kind === 'identifier') {
      if (['true', 'True', 't'].includes(token.text)) return true;
      if (['false', 'False', 'f'].includes(token.text)) return false;
    } else if (token.kind === 'integer') {
      const value = integerValue(token.text);
      if (value === 0n || value === 1n) return value === 1n;
    }
    throw this.fail(token, `invalid value for bool field '${field.name}': ${this.tokens.show(token)}`);
  }

  private parseEnum(field: FieldShape): number {
    const enumType = field.enumType!;
    const start = this.tokens.peek();
    const negative = this.tokens.trySymbol('-');
    const token = this.tokens.next();
    if (token.kind === 'identifier' && !negative) {
      const value = enumType.values[token.text];
      if (value === undefined) {
        const enumName = enumType.fullName.replace(/^\./, '');
        throw this.fail(token, `unknown value${this.quoted(token)} of enum ${enumName} for '${field.name}'`);
      }
      return value;
    }
    // A number is kept even when the enum has no such value: proto3 enums are open.
    if (token.kind === 'integer') return Number(this.checkRange(field, start, token, negative, INTEGER_RANGES.int32));
    throw this.fail(token, `expected an enum value name or number for '${field.name}', got ${this.tokens.show(token)}`);
  }

  private parseFloat(field: FieldShape): number {
    const negative = this.tokens.trySymbol('-');
    const token = this.tokens.next();
    const sign = negative ? -1 : 1;
    // As C++'s ConsumeDouble: an integer for a floating-point field must be decimal.
    if (token.kind === 'integer' && /^(0|[1-9]\d*)$/.test(token.text)) return sign * Number(token.text);
    if (token.kind === 'float') return sign * Number(token.text.replace(/[fF]$/, ''));
    if (token.kind === 'identifier') {
      const word = token.text.toLowerCase();
      if (word === 'inf' || word === 'infinity') return sign * Infinity;
      if (word === 'nan') return NaN;
    }
    throw this.fail(
      token,
      `expected a decimal number for ${field.type} field '${field.name}', got ${this.tokens.show(token)}`,
    );
  }

  private parseInteger(field: FieldShape): number | string {
    const range = INTEGER_RANGES[field.type];
    if (range === undefined) throw new Error(`text format: unhandled field type ${field.type}`);
    const start = this.tokens.peek();
    const negative = this.tokens.trySymbol('-');
    const token = this.tokens.next();
    if (token.kind !== 'integer') {
      throw this.fail(
        token,
        `expected an integer for ${field.type} field '${field.name}', got ${this.tokens.show(token)}`,
      );
    }
    const value = this.checkRange(field, start, token, negative, range);
    return LONG_TYPES.has(field.type) ? value.toString() : Number(value);
  }

  private checkRange(
    field: FieldShape,
    start: Position,
    token: Token,
    negative: boolean,
    [min, max]: readonly [bigint, bigint],
  ): bigint {
    const value = (negative ? -1n : 1n) * integerValue(token.text);
    if (value < min || value > max) {
      const text = this.tokens.quoteText ? `${negative ? '-' : ''}${token.text}` : 'a number';
      throw this.fail(start, `${text} is out of range for ${field.type} field '${field.name}'`);
    }
    return value;
  }

  /** `[prefix/full.Name] { ... }` in an Any: the named message, stored as type_url and value. */
  private parseExpandedAny(shape: MessageShape, open: Token, result: PlainMessage, given: Set<string>): void {
    let name = '';
    for (let token = this.tokens.next(); !(token.kind === 'symbol' && token.text === ']'); token = this.tokens.next()) {
      if (token.kind === 'end') throw this.fail(token, "expected ']' to close the bracketed field name");
      name += token.text;
    }
    // The type URL is text of the file: shown only where messages may quote it.
    const shown = this.tokens.quoteText ? ` [${name}]` : '';
    const slash = name.lastIndexOf('/');
    if (slash < 0) throw this.fail(open, `extensions are not supported${shown && `:${shown}`}`);
    if (shape.fullName !== ANY_TYPE) {
      throw this.fail(open, `expanded Any form${shown} in ${shape.fullName}, which is not a ${ANY_TYPE}`);
    }
    const prefix = name.slice(0, slash);
    if (!ANY_URL_PREFIXES.includes(prefix)) {
      const found = this.tokens.quoteText ? `, but found "${prefix}"` : '';
      throw this.fail(open, `the expanded Any form supports only ${ANY_URL_PREFIXES.join(' and ')} type URLs${found}`);
    }
    if (given.size > 0) throw this.fail(open, `${ANY_TYPE} already has its type_url or value set`);
    const messageType = lookupMessageType(shape.type!.root, name.slice(slash + 1));
    if (messageType === undefined) {
      const typeUrl = this.tokens.quoteText ? ` "${name}"` : '';
      throw this.fail(open, `could not find the type${typeUrl} stored in ${ANY_TYPE}`);
    }
    this.tokens.trySymbol(':');
    const opener = this.tokens.next();
    const closer = opener.kind === 'symbol' ? CLOSERS[opener.text] : undefined;
    if (closer === undefined) {
      throw this.fail(opener, `expected '{' or '<' to open the Any's message, got ${this.tokens.show(opener)}`);
    }
    const value = this.parseMessage(messageShape(messageType), closer);
    result.type_url = name;
    result.value = Buffer.from(messageType.encode(messageType.fromObject(value)).finish());
    given.add('type_url').add('value');
  }

  private expectSymbol(symbol: string, purpose: string): void {
    const token = this.tokens.peek();
    if (!this.tokens.trySymbol(symbol)) {
      throw this.fail(token, `expected '${symbol}' ${purpose}, got ${this.tokens.show(token)}`);
    }
  }

  /** " 'text'" of a token the message names, or nothing when the text may not be quoted. */
  private quoted(token: Token): string {
    return this.tokens.quoteText ? ` '${token.text}'` : '';
  }

  private fail(at: Position, message: string): Error {
    return this.tokens.error(at, message);
  }
}

function lookupMessageType(root: protobuf.Namespace, fullName: string): protobuf.Type | undefined {
  const found = root.lookup(fullName);
  return found instanceof protobuf.Type ? found : undefined;
}

function integerValue(text: string): bigint {
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  return BigInt(text); // decimal, or 0x hex
}

function defaultValue(field: FieldShape): unknown {
  if (field.type === 'message') return {};
  if (field.type === 'string') return '';
  if (field.type === 'bytes') return Buffer.alloc(0);
  if (field.type === 'bool') return false;
  if (LONG_TYPES.has(field.type)) return '0';
  return 0;
}
