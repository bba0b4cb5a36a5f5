import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Protos } from '../../src/protos';
import { serializedExamples, serializedExamplesTensor } from '../../src/servables/serialized_input';
import { DataType } from '../../src/tensors/data_type';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('serializedExamples', () => {
  test('an ExampleList hands over its examples as they are', () => {
    const examples = [bytes(1, 2), bytes(3)];
    assert.equal(serializedExamples({ example_list: { examples } })[1], examples[1]);
  });

  test('with a context, each example is the context bytes followed by its own', () => {
    const merged = serializedExamples({
      example_list_with_context: { examples: [bytes(7), bytes(8, 9)], context: bytes(1, 2) },
    });
    assert.deepEqual(
      merged.map((b) => [...b]),
      [
        [1, 2, 7],
        [1, 2, 8, 9],
      ],
    );
  });

  test('an empty context leaves the examples alone', () => {
    const examples = [bytes(7)];
    assert.equal(serializedExamples({ example_list_with_context: { examples, context: bytes() } })[0], examples[0]);
    assert.equal(serializedExamples({ example_list_with_context: { examples } })[0], examples[0]);
  });

  test('the Input envelope decodes a stock-encoded request into these bytes', () => {
    const example = Protos.Example.encode({ features: { feature: { x: { float_list: { value: [1] } } } } }).finish();
    const request = Protos.ClassificationRequest.encode({
      model_spec: { name: 'm' },
      input: { example_list: { examples: [Protos.Example.decode(example)] } },
    }).finish();
    const envelope = Protos.ClassificationRequestEnvelope.decode(request) as unknown as { input: never };
    assert.deepEqual([...serializedExamples(envelope.input)[0]], [...example]);
  });
});

describe('serializedExamplesTensor', () => {
  test('DT_STRING [n], one serialized Example per element', () => {
    const tensor = serializedExamplesTensor({ example_list: { examples: [bytes(1), bytes(2)] } });
    assert.equal(tensor.dtype, DataType.DT_STRING);
    assert.deepEqual(tensor.shape, [2]);
  });

  test('no examples, or no Input kind at all: "Input is empty."', () => {
    for (const input of [null, undefined, {}, { example_list: { examples: [] } }]) {
      assert.throws(() => serializedExamplesTensor(input), { code: 'INVALID_ARGUMENT', message: 'Input is empty.' });
    }
  });
});
