import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServingError } from '../../src/errors/serving_error';
import { parseJsonText } from '../../src/tensors/json_parse';

function parseError(text: string): string {
  try {
    parseJsonText(text);
  } catch (error) {
    assert.ok(error instanceof ServingError);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail(`parsed: ${text}`);
}

describe('parseJsonText', () => {
  it('parses standard JSON like JSON.parse', () => {
    const text = '{"a": [1, 2.5, -3e2, true, false, null, "x\\n\\u00e9"], "b": {"c": {}}}';
    assert.deepEqual(parseJsonText(text), JSON.parse(text));
  });

  it('accepts the non-finite tokens rapidjson accepts', () => {
    assert.deepEqual(parseJsonText('[NaN, Infinity, -Infinity, Inf, -Inf, 1]'), [
      NaN,
      Infinity,
      -Infinity,
      Infinity,
      -Infinity,
      1,
    ]);
  });

  it('keeps integers beyond 2^53 exact, as bigint', () => {
    assert.deepEqual(parseJsonText('[9223372036854775807, -9223372036854775808, 18446744073709551615, 12]'), [
      9223372036854775807n,
      -9223372036854775808n,
      18446744073709551615n,
      12,
    ]);
    // The literals round as JavaScript rounds them, which is what the parser must match.
    assert.deepEqual(
      parseJsonText('[0.12345678901234567, 1234567890123456.5]'),
      // eslint-disable-next-line no-loss-of-precision
      [0.12345678901234567, 1234567890123456.5],
    );
  });

  it('rejects documents nested too deeply to parse, as a client error', () => {
    assert.equal(
      parseError('['.repeat(200000) + 'NaN' + ']'.repeat(200000)),
      'JSON Parse error: The document nests too deeply',
    );
    assert.equal(parseError('['.repeat(200000)), 'JSON Parse error: The document nests too deeply');
  });

  it('keeps a "__proto__" member as data', () => {
    const value = parseJsonText('{"__proto__": {"x": 1}, "n": NaN}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['__proto__', 'n']);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
  });

  it('reports errors with rapidjson messages and byte offsets', () => {
    assert.equal(parseError(''), 'JSON Parse error: The document is empty');
    assert.equal(parseError('  '), 'JSON Parse error: The document is empty. at offset: 2');
    assert.equal(parseError('{'), 'JSON Parse error: Missing a name for object member. at offset: 1');
    assert.equal(
      parseError('{"a" 1}'),
      'JSON Parse error: Missing a colon after a name of object member. at offset: 5',
    );
    assert.equal(
      parseError('{"a": 1 "b"}'),
      "JSON Parse error: Missing a comma or '}' after an object member. at offset: 8",
    );
    assert.equal(parseError('[1, 2'), "JSON Parse error: Missing a comma or ']' after an array element. at offset: 5");
    assert.equal(parseError('[1.]'), 'JSON Parse error: Miss fraction part in number. at offset: 3');
    assert.equal(parseError('[1e]'), 'JSON Parse error: Miss exponent in number. at offset: 3');
    assert.equal(parseError('[Nan]'), 'JSON Parse error: Invalid value. at offset: 3');
    assert.equal(parseError('[tru]'), 'JSON Parse error: Invalid value. at offset: 4');
    assert.equal(
      parseError('{} x'),
      'JSON Parse error: The document root must not be followed by other values. at offset: 3',
    );
    assert.equal(parseError('["abc'), 'JSON Parse error: Missing a closing quotation mark in string. at offset: 5');
    assert.equal(parseError('["\\x"]'), 'JSON Parse error: Invalid escape character in string. at offset: 2');
    assert.equal(
      parseError('["\\u12G4"]'),
      'JSON Parse error: Incorrect hex digit after \\u escape in string. at offset: 2',
    );
    assert.equal(parseError('["\\ud800"]'), 'JSON Parse error: The surrogate pair in string is invalid. at offset: 2');
    assert.equal(parseError('[1e999]'), 'JSON Parse error: Number too big to be stored in double. at offset: 1');
    // "é" is two bytes in UTF-8.
    assert.equal(parseError('["é", x]'), 'JSON Parse error: Invalid value. at offset: 7');
  });
});
