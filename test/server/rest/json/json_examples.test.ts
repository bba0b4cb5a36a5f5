import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Protos } from '../../../../src/protos';
import { parseExamplesDocument } from '../../../../src/server/rest/json/json_examples';

type Features = Record<string, Record<string, { value: unknown[] }>>;

/** The features of a serialized tf.Example, with bytes as text and int64s as strings. */
function features(bytes: Uint8Array): Features {
  const example = Protos.Example.toObject(Protos.Example.decode(bytes), { longs: String, oneofs: false }) as {
    features?: { feature: Record<string, Record<string, { value: unknown[] }>> };
  };
  const result: Features = {};
  for (const [name, feature] of Object.entries(example.features?.feature ?? {})) {
    result[name] = Object.fromEntries(
      Object.entries(feature).map(([kind, list]) => [
        kind,
        { value: list.value.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v)) },
      ]),
    );
  }
  return result;
}

function onlyExample(body: string): Features {
  const { input } = parseExamplesDocument(body);
  assert.equal(input.example_list!.examples.length, 1);
  return features(input.example_list!.examples[0]);
}

const bad = (body: string, message: string | RegExp) =>
  assert.throws(() => parseExamplesDocument(body), { code: 'INVALID_ARGUMENT', message });

describe('parseExamplesDocument: feature values (TF-Serving AddValueToFeature)', () => {
  test('integers are int64_list, other numbers float_list, strings and b64 bytes_list, booleans int64 1/0', () => {
    assert.deepEqual(
      onlyExample(
        '{"examples": [{"i": 3, "f": 1.5, "whole": 2.0, "e": 1e2, "s": "abc", "b": {"b64": "/wA="}, "t": true, "no": false}]}',
      ),
      {
        i: { int64_list: { value: ['3'] } },
        f: { float_list: { value: [1.5] } },
        whole: { float_list: { value: [2] } },
        e: { float_list: { value: [100] } },
        s: { bytes_list: { value: ['abc'] } },
        b: { bytes_list: { value: ['\xff\x00'] } },
        t: { int64_list: { value: ['1'] } },
        no: { int64_list: { value: ['0'] } },
      },
    );
  });

  test('lists keep their order; an empty list is a feature of no kind', () => {
    assert.deepEqual(
      onlyExample(
        '{"examples": [{"ids": [3, -1, 9007199254740993], "w": [0.5, -2.25], "tags": ["a", {"b64": "Yg=="}], "none": [], "mixed_bool": [1, true]}]}',
      ),
      {
        ids: { int64_list: { value: ['3', '-1', '9007199254740993'] } },
        w: { float_list: { value: [0.5, -2.25] } },
        tags: { bytes_list: { value: ['a', 'b'] } },
        none: {},
        mixed_bool: { int64_list: { value: ['1', '1'] } },
      },
    );
  });

  test('floats are stored as float32; NaN and Infinity are floats', () => {
    const { f, n } = onlyExample('{"examples": [{"f": [0.1, -0.0], "n": [NaN, -Infinity]}]}');
    assert.deepEqual(f.float_list.value, [Math.fround(0.1), -0]);
    assert.ok(Number.isNaN(n.float_list.value[0]));
    assert.equal(n.float_list.value[1], -Infinity);
  });

  test('int64 limits: the extremes pass, uint64-only values are refused, larger ones become floats', () => {
    assert.deepEqual(onlyExample('{"examples": [{"n": [-9223372036854775808, 9223372036854775807]}]}').n, {
      int64_list: { value: ['-9223372036854775808', '9223372036854775807'] },
    });
    bad('{"examples": [{"n": 9223372036854775808}]}', 'Feature: n has uint64 element. Only int64 is supported.');
    bad('{"examples": [{"n": 18446744073709551615}]}', 'Feature: n has uint64 element. Only int64 is supported.');
    assert.deepEqual(onlyExample('{"examples": [{"n": 18446744073709551616}]}').n, {
      float_list: { value: [Math.fround(18446744073709551616)] },
    });
  });

  test("TF-Serving's messages for values a feature cannot hold", () => {
    bad('{"examples": [{"n": [1, 2.5]}]}', 'Unexpected element type in feature: n expecting type: int64');
    bad('{"examples": [{"n": [2.5, 1]}]}', 'Unexpected element type in feature: n expecting type: float');
    bad('{"examples": [{"n": ["a", true]}]}', 'Unexpected element type in feature: n expecting type: bytes');
    bad('{"examples": [{"n": [1, {"b64": "AA=="}]}]}', 'Unexpected element type in feature: n expecting type: int64');
    bad('{"examples": [{"n": null}]}', 'Feature: n has element with unexpected JSON type: Null');
    bad('{"examples": [{"n": [[1]]}]}', 'Feature: n has element with unexpected JSON type: Array');
    bad('{"examples": [{"n": {"a": 1}}]}', 'Feature: n has element with unexpected JSON type: Object');
    bad('{"examples": [{"n": {"b64": "%%%"}}]}', 'Unable to base64 decode');
    bad('{"examples": [{"n": 1e39}]}', 'Cannot convert JSON value: 1e+39 to float without loss of precision.');
  });
});

describe('parseExamplesDocument: the document (TF-Serving FillClassifyRegressRequestFromJson)', () => {
  test('signature_name, and examples without a context: an ExampleList', () => {
    const { signatureName, input } = parseExamplesDocument('{"signature_name": "sig", "examples": [{"x": 1}, {}]}');
    assert.equal(signatureName, 'sig');
    assert.equal(input.example_list!.examples.length, 2);
    assert.equal(input.example_list!.examples[1].length, 0); // no features: an empty Example
    assert.equal(parseExamplesDocument('{"examples": [{}]}').signatureName, '');
  });

  test('a context makes an ExampleListWithContext', () => {
    const { input } = parseExamplesDocument('{"context": {"c": "shared"}, "examples": [{"x": 1}]}');
    assert.equal(input.example_list, undefined);
    const { context, examples } = input.example_list_with_context!;
    assert.deepEqual(features(context!), { c: { bytes_list: { value: ['shared'] } } });
    assert.deepEqual(features(examples[0]), { x: { int64_list: { value: ['1'] } } });
  });

  test('a feature may be named like anything, "__proto__" included', () => {
    const { input } = parseExamplesDocument('{"examples": [{"__proto__": 1, "constructor": 2}]}');
    const bytes = Buffer.from(input.example_list!.examples[0]);
    // (Read back as bytes: a decoder into plain objects would drop "__proto__" itself.)
    assert.ok(bytes.includes('\x09__proto__'), bytes.toString('latin1'));
    assert.ok(bytes.includes('\x0bconstructor'), bytes.toString('latin1'));
  });

  test("TF-Serving's messages for a document it cannot read", () => {
    bad('', 'JSON Parse error: The document is empty');
    bad('{"examples": [', /^JSON Parse error: /);
    bad('[]', 'JSON Value: [] Is not object');
    bad(
      '{"signature_name": 1, "examples": [{}]}',
      /^JSON Value: .* not formatted correctly\. 'signature_name' key must be a string value\.$/s,
    );
    bad(
      '{"instances": [1]}',
      /^JSON Value: .* When method is classify, key 'examples' is expected and was not found$/s,
    );
    bad('{"examples": {}}', /^JSON Value: .* Expecting 'examples' value to be an list\/array$/s);
    bad('{"examples": []}', /^JSON Value: .* 'examples' value is an empty array$/s);
    bad('{"examples": [[1]]}', 'Example must be JSON object but got JSON Array');
    bad('{"context": 3, "examples": [{}]}', 'Example must be JSON object but got JSON Number');
  });
});
