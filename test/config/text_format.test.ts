import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as protobuf from 'protobufjs';
import { ConfigError } from '../../src/config/config_error';
import { parseTextFormat, parseTextFormatToObject } from '../../src/config/text_format';
import { Protos } from '../../src/protos';

/** A message with every kind of field the parser handles. */
const All = protobuf
  .parse(
    `syntax = "proto3";
    package texttest;
    enum Color { COLOR_UNSET = 0; RED = 1; GREEN = 2; MINUS = -3; }
    message Inner { string label = 1; repeated Inner children = 2; }
    message All {
      int32 i32 = 1; sint32 s32 = 2; sfixed32 sf32 = 3; uint32 u32 = 4; fixed32 f32 = 5;
      int64 i64 = 6; sint64 s64 = 7; sfixed64 sf64 = 8; uint64 u64 = 9; fixed64 f64 = 10;
      float fl = 11; double db = 12; bool b = 13; string s = 14; bytes by = 15; Color color = 16;
      Inner inner = 17;
      repeated int32 ints = 18; repeated string strings = 19; repeated Inner inners = 20;
      repeated Color colors = 21; repeated double doubles = 22; repeated bool bools = 23;
      map<string, int64> labels = 24; map<int32, string> names = 25; map<string, Inner> tree = 26;
      map<bool, Color> flags = 27;
      oneof choice { string text = 28; Inner nested = 29; }
    }`,
    { keepCase: true },
  )
  .root.lookupType('texttest.All');

const parse = (text: string) => parseTextFormatToObject(All, text, 'test.txt');

function parseError(text: string): string {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

describe('text format: values', () => {
  test('an empty input, or only comments, is an empty message', () => {
    assert.deepEqual(parse(''), {});
    assert.deepEqual(parse('  # nothing\n\n# here\n'), {});
  });

  test('integers of every width, at their limits; 64-bit ones as decimal strings', () => {
    assert.deepEqual(
      parse(`i32: -2147483648 s32: 2147483647 sf32: -1 u32: 4294967295 f32: 0
             i64: -9223372036854775808 s64: 9223372036854775807 sf64: -5
             u64: 18446744073709551615 f64: 7`),
      {
        i32: -2147483648,
        s32: 2147483647,
        sf32: -1,
        u32: 4294967295,
        f32: 0,
        i64: '-9223372036854775808',
        s64: '9223372036854775807',
        sf64: '-5',
        u64: '18446744073709551615',
        f64: '7',
      },
    );
  });

  test('integers in hex and octal, negative too', () => {
    assert.deepEqual(parse('ints: 0x1F ints: 017 ints: -0x10 ints: 0 ints: 00'), { ints: [31, 15, -16, 0, 0] });
  });

  test('integers out of range name the field', () => {
    assert.equal(parseError('i32: 2147483648'), "test.txt:1:6: 2147483648 is out of range for int32 field 'i32'");
    assert.equal(parseError('u32: -1'), "test.txt:1:6: -1 is out of range for uint32 field 'u32'");
    assert.equal(
      parseError('u64: 18446744073709551616'),
      "test.txt:1:6: 18446744073709551616 is out of range for uint64 field 'u64'",
    );
    assert.equal(
      parseError('i64: -9223372036854775809'),
      "test.txt:1:6: -9223372036854775809 is out of range for int64 field 'i64'",
    );
  });

  test('an integer field refuses floats and words', () => {
    assert.equal(parseError('i32: 1.5'), "test.txt:1:6: expected an integer for int32 field 'i32', got '1.5'");
    assert.equal(parseError('i32: 1f'), "test.txt:1:6: expected an integer for int32 field 'i32', got '1f'");
    assert.equal(parseError('i32: x'), "test.txt:1:6: expected an integer for int32 field 'i32', got 'x'");
  });

  test('floating point: decimals, exponents, f suffix, integers, inf and nan', () => {
    const { doubles } = parse(`doubles: [1.5, .5, 5., 1e3, 2.5E-1, 1.5f, 2F, 7, -3, -inf, Infinity, -INF]`);
    assert.deepEqual(doubles, [1.5, 0.5, 5, 1000, 0.25, 1.5, 2, 7, -3, -Infinity, Infinity, -Infinity]);
    const nan = parse('fl: nan db: -NaN');
    assert.ok(Number.isNaN(nan.fl) && Number.isNaN(nan.db));
    assert.equal(parseError('db: 0x10'), "test.txt:1:5: expected a decimal number for double field 'db', got '0x10'");
    assert.equal(parseError('db: "1"'), `test.txt:1:5: expected a decimal number for double field 'db', got '"1"'`);
  });

  test('bools: true/True/t, false/False/f, 1 and 0', () => {
    assert.deepEqual(parse('bools: [true, True, t, 1, false, False, f, 0]'), {
      bools: [true, true, true, true, false, false, false, false],
    });
    assert.equal(parseError('b: yes'), "test.txt:1:4: invalid value for bool field 'b': 'yes'");
    assert.equal(parseError('b: 2'), "test.txt:1:4: invalid value for bool field 'b': '2'");
  });

  test('strings: both quotes, every escape, adjacent strings concatenated', () => {
    assert.deepEqual(parse(String.raw`s: "a\"b" 'c\'d' "\n\t\r\\\?\a\b\f\v"`), { s: 'a"bc\'d\n\t\r\\?\x07\b\f\v' });
    assert.deepEqual(parse(String.raw`s: '\101\x42\x4a\0' "\u00e9\U0001F600\uD83D\uDE00" 'ü'`), {
      s: 'ABJ\0é😀😀ü',
    });
    assert.deepEqual(parse(`strings: "x" 'y'\n  "z" strings: ""`), { strings: ['xyz', ''] });
  });

  test('bytes keep escaped bytes as they are; a string must be UTF-8', () => {
    assert.deepEqual(parse(String.raw`by: "\xff\000\377é"`), { by: Buffer.from([0xff, 0, 0xff, 0xc3, 0xa9]) });
    assert.equal(parseError(String.raw`s: "\xff"`), "test.txt:1:4: string field 's' is not valid UTF-8");
  });

  test('malformed strings', () => {
    assert.equal(parseError('s: "abc'), 'test.txt:1:4: string is not closed on its line');
    assert.equal(parseError('s: "ab\nc"'), 'test.txt:1:4: string is not closed on its line');
    assert.equal(parseError(String.raw`s: "a\qb"`), 'test.txt:1:6: invalid escape sequence \\q');
    assert.equal(parseError(String.raw`s: "\400"`), 'test.txt:1:5: octal escape \\400 is larger than a byte');
    assert.equal(parseError(String.raw`s: "\x"`), 'test.txt:1:5: \\x must be followed by hex digits');
    assert.equal(parseError(String.raw`s: "\u12"`), 'test.txt:1:5: \\u must be followed by 4 hex digits');
    assert.equal(parseError(String.raw`s: "\uD83Dx"`), 'test.txt:1:11: unpaired surrogate \\u escape');
    assert.equal(parseError('s: 5'), "test.txt:1:4: expected a string for 's', got '5'");
  });

  test('enums by name or by number, unknown numbers kept (proto3 enums are open)', () => {
    assert.deepEqual(parse('colors: [RED, 2, 99, -3, MINUS, COLOR_UNSET]'), { colors: [1, 2, 99, -3, -3, 0] });
    assert.equal(parseError('color: BLUE'), "test.txt:1:8: unknown value 'BLUE' of enum texttest.Color for 'color'");
    assert.equal(
      parseError('color: "RED"'),
      `test.txt:1:8: expected an enum value name or number for 'color', got '"RED"'`,
    );
  });
});

describe('text format: structure', () => {
  test('nested messages with { } or < >, the colon optional', () => {
    const expected = { inner: { label: 'a', children: [{ label: 'b', children: [{}] }, { label: 'c' }] } };
    assert.deepEqual(
      parse('inner { label: "a" children < label: "b" children {} > children: { label: "c" } }'),
      expected,
    );
    assert.deepEqual(parse('inner: < label: "a" children: [{ label: "b" children [{}] }, <label: "c">] >'), expected);
  });

  test('repeated fields by repetition, by lists, or both; empty lists', () => {
    assert.deepEqual(parse('ints: 1 ints: [2, 3] ints: 4 ints: []'), { ints: [1, 2, 3, 4] });
    assert.deepEqual(parse('strings: []'), { strings: [] });
    assert.deepEqual(parse('inners [] inners { label: "x" }'), { inners: [{ label: 'x' }] });
  });

  test("one ',' or ';' may follow each field; comments anywhere", () => {
    const text = `i32: 1, # one
      s: "x"; # two
      inner { label: "y", children {}; }, ints: [1, # inside a list
      2]`;
    assert.deepEqual(parse(text), { i32: 1, s: 'x', inner: { label: 'y', children: [{}] }, ints: [1, 2] });
    assert.equal(parseError('i32: 1,, s: "x"'), "test.txt:1:8: expected a field name, got ','");
  });

  test('map fields as repeated key/value entries; the last entry of a key wins', () => {
    assert.deepEqual(
      parse(`labels { key: "stable" value: 3 }
             labels: { key: "canary", value: 4 }
             labels [ { key: "stable" value: 5 }, < key: "old" > ]
             names { key: -7 value: "minus seven" } names { value: "zero" }
             tree { key: "t" value { label: "leaf" } } tree { key: "e" }
             flags { key: true value: GREEN } flags { key: f }`),
      {
        labels: { stable: '5', canary: '4', old: '0' },
        names: { '-7': 'minus seven', 0: 'zero' },
        tree: { t: { label: 'leaf' }, e: {} },
        flags: { true: 2, false: 0 },
      },
    );
    assert.equal(
      parseError('labels { key: "a" value: 1 valu: 2 }'),
      "test.txt:1:28: unknown field 'valu' in texttest.All.labelsEntry",
    );
  });

  test('a oneof takes one member', () => {
    assert.deepEqual(parse('text: "a"'), { text: 'a' });
    assert.deepEqual(parse('nested { label: "n" }'), { nested: { label: 'n' } });
    assert.equal(
      parseError('text: "a"\nnested {}'),
      "test.txt:2:1: field 'nested' is set along with 'text', another member of oneof 'choice'",
    );
  });

  test('a non-repeated field given twice is an error, as in TextFormat::Parse', () => {
    assert.equal(parseError('i32: 1\ni32: 2'), "test.txt:2:1: non-repeated field 'i32' is specified more than once");
    assert.equal(
      parseError('inner {} inner {}'),
      "test.txt:1:10: non-repeated field 'inner' is specified more than once",
    );
    assert.equal(parseError('i32: [1]'), "test.txt:1:6: list syntax [...] used for non-repeated field 'i32'");
  });

  test('unknown fields name the message type', () => {
    assert.equal(
      parseError('i32: 1\n\n  inner {\n    nmae: "x"\n  }'),
      "test.txt:4:5: unknown field 'nmae' in texttest.Inner",
    );
    assert.equal(parseError('I32: 1'), "test.txt:1:1: unknown field 'I32' in texttest.All");
  });

  test('extensions, and the expanded Any form outside an Any, are refused clearly', () => {
    assert.equal(
      parseError('inner {\n  [type.googleapis.com/texttest.Inner] { label: "x" }\n}'),
      'test.txt:2:3: expanded Any form [type.googleapis.com/texttest.Inner] in texttest.Inner, ' +
        'which is not a google.protobuf.Any',
    );
    assert.equal(parseError('[texttest.ext]: 1'), 'test.txt:1:1: extensions are not supported: [texttest.ext]');
  });

  test('malformed input: line and column of the offending token', () => {
    const cases: Array<[string, string]> = [
      ['inner {\n  label: "x"\n', 'test.txt:3:1: expected "}" to close texttest.Inner, got end of input'],
      ['inner < label: "x" }', "test.txt:1:20: expected a field name, got '}'"],
      ['i32: 1 }', "test.txt:1:8: expected a field name, got '}'"],
      ['i32 1', "test.txt:1:5: expected ':' after 'i32', got '1'"],
      ['i32 { }', "test.txt:1:5: expected ':' after 'i32', got '{'"],
      ['inner: "x"', `test.txt:1:8: expected '{' or '<' to open 'inner', got '"x"'`],
      ['ints: [1, 2', "test.txt:1:12: expected ']' to close the list of 'ints', got end of input"],
      ['ints: [1 2]', "test.txt:1:10: expected ']' to close the list of 'ints', got '2'"],
      ['\n\n   i32: @', 'test.txt:3:9: invalid character "@"'],
      ['i32: 12abc', 'test.txt:1:6: a number must be followed by a space or a symbol'],
      ['i32: 08', 'test.txt:1:6: numbers starting with 0 must be octal'],
      ['i32: 0x', 'test.txt:1:6: "0x" must be followed by hex digits'],
      ['db: 1e', 'test.txt:1:5: exponent must have digits'],
      ['i32:', "test.txt:1:5: expected an integer for int32 field 'i32', got end of input"],
      ['"i32": 1', `test.txt:1:1: expected a field name, got '"i32"'`],
    ];
    for (const [text, message] of cases) assert.equal(parseError(text), message, JSON.stringify(text));
  });
});

describe('parseTextFormat', () => {
  test('returns a protobufjs message of the type', () => {
    const message = parseTextFormat(
      Protos.ModelServerConfig,
      `model_config_list {
        config { name: "m" base_path: "/models/m" model_platform: "tensorflow"
                 model_version_policy { specific { versions: 1 versions: 4294967296 } }
                 version_labels { key: "stable" value: 1 } }
      }`,
      'models.config',
    );
    assert.ok(message instanceof Protos.ModelServerConfig.ctor);
    assert.deepEqual(Protos.ModelServerConfig.toObject(message, { longs: String, oneofs: true }), {
      config: 'model_config_list',
      model_config_list: {
        config: [
          {
            name: 'm',
            base_path: '/models/m',
            model_platform: 'tensorflow',
            model_version_policy: { policy_choice: 'specific', specific: { versions: ['1', '4294967296'] } },
            version_labels: { stable: '1' },
          },
        ],
      },
    });
  });

  test('google.protobuf.Any in its compact form (type_url and value)', () => {
    const message = parseTextFormat(
      Protos.ModelServerConfig,
      String.raw`custom_model_config { type_url: "type.googleapis.com/x.Y" value: "\001\002" }`,
      'models.config',
    );
    const object = Protos.ModelServerConfig.toObject(message, { oneofs: true });
    assert.equal(object.config, 'custom_model_config');
    assert.equal(object.custom_model_config.type_url, 'type.googleapis.com/x.Y');
    assert.deepEqual(Buffer.from(object.custom_model_config.value), Buffer.from([1, 2]));
  });
});

describe('google.protobuf.Any in its expanded form', () => {
  const platformMap = (any: string) =>
    `platform_configs {\n  key: "tensorflow"\n  value { source_adapter_config {\n    ${any}\n  } }\n}`;
  const anyError = (any: string) => {
    try {
      parseTextFormat(Protos.PlatformConfigMap, platformMap(any), 'platform.config');
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail(`no error for ${any}`);
  };

  test('is the named message, encoded, under its type URL', () => {
    const any =
      '[type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] ' +
      '{ legacy_config { saved_model_tags: "serve" enable_model_warmup: true } }';
    const object = parseTextFormatToObject(Protos.PlatformConfigMap, platformMap(any), 'platform.config') as {
      platform_configs: Record<string, { source_adapter_config: { type_url: string; value: Buffer } }>;
    };
    const { type_url, value } = object.platform_configs.tensorflow.source_adapter_config;
    assert.equal(type_url, 'type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig');
    const decoded = Protos.SavedModelBundleSourceAdapterConfig.toObject(
      Protos.SavedModelBundleSourceAdapterConfig.decode(value),
    );
    assert.deepEqual(decoded, { legacy_config: { saved_model_tags: ['serve'], enable_model_warmup: true } });
  });

  test('an unknown type, another URL prefix, or an Any already set are refused with their position', () => {
    assert.equal(
      anyError('[type.googleapis.com/tensorflow.serving.NoSuchConfig] {}'),
      'platform.config:4:5: could not find the type "type.googleapis.com/tensorflow.serving.NoSuchConfig" stored in ' +
        'google.protobuf.Any',
    );
    assert.equal(
      anyError('[example.com/tensorflow.ConfigProto] {}'),
      'platform.config:4:5: the expanded Any form supports only type.googleapis.com and type.googleprod.com type URLs, ' +
        'but found "example.com"',
    );
    assert.equal(
      anyError('type_url: "x" [type.googleapis.com/tensorflow.ConfigProto] {}'),
      'platform.config:4:19: google.protobuf.Any already has its type_url or value set',
    );
    // A file whose text may not be quoted (a model's) gets the same errors without its text.
    assert.throws(
      () =>
        parseTextFormatToObject(Protos.PlatformConfigMap, platformMap('[example.com/secret.Type] {}'), 'p', {
          quoteText: false,
        }),
      (error: Error) => {
        assert.equal(
          error.message,
          'p:4:5: the expanded Any form supports only type.googleapis.com and type.googleprod.com type URLs',
        );
        return true;
      },
    );
    assert.equal(
      anyError('[type.googleapis.com/tensorflow.ConfigProto] { intra_op_threads: 2 }'),
      "platform.config:4:52: unknown field 'intra_op_threads' in tensorflow.ConfigProto",
    );
  });
});

test('a map key that is also an Object.prototype name stays a plain key', () => {
  const labels = parse('labels { key: "__proto__" value: 1 } labels { key: "constructor" value: 2 }').labels as object;
  assert.deepEqual(Object.entries(labels), [
    ['__proto__', '1'],
    ['constructor', '2'],
  ]);
  assert.equal(Object.getPrototypeOf(labels), Object.prototype);
});
