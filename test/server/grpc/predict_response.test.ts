/**
 * PredictResponse bytes written by hand are the bytes protobufjs writes for the envelope, and a
 * stock decoder reads them as tensorflow.serving.PredictResponse.
 */
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Protos } from '../../../src/protos';
import { encodePredictResponse } from '../../../src/server/grpc/predict_response';

const tensor = (values: number[]) =>
  Protos.TensorProto.encode({ dtype: 1, tensor_shape: { dim: [{ size: values.length }] }, float_val: values }).finish();

const cases: Array<[string, Map<string, Uint8Array>, string, number, string]> = [
  ['one output', new Map([['y', tensor([2.5, 3, 4.5])]]), 'half_plus_two', 1, 'serving_default'],
  ['no outputs, version 0, no signature name', new Map(), 'm', 0, ''],
  [
    'several outputs, long names, a large version',
    new Map([
      ['probabilities', tensor(Array.from({ length: 300 }, (_, i) => i / 7))],
      ['ünïcode_alias', tensor([])],
      ['empty', new Uint8Array(0)],
    ]),
    'a'.repeat(200),
    2 ** 40 + 5,
    'sïgnature',
  ],
];

describe('encodePredictResponse', () => {
  for (const [name, outputs, model, version, signatureName] of cases) {
    it(`writes the envelope's bytes: ${name}`, () => {
      const expected = Protos.PredictResponseEnvelope.encode({
        outputs: Object.fromEntries(outputs),
        model_spec: { name: model, version: { value: version }, signature_name: signatureName },
      }).finish();
      const written = encodePredictResponse(outputs, model, version, signatureName);
      assert.deepEqual(written, Buffer.from(expected));
      const decoded = Protos.PredictResponse.toObject(Protos.PredictResponse.decode(written), {
        longs: Number,
        defaults: true,
      });
      assert.equal(decoded.model_spec.name, model);
      assert.equal(decoded.model_spec.version.value, version);
      assert.equal(decoded.model_spec.signature_name, signatureName);
      assert.deepEqual(Object.keys(decoded.outputs ?? {}).sort(), [...outputs.keys()].sort());
    });
  }
});
