import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signatureDebugString } from '../../src/servables/signature_debug_string';
import { DataType } from '../../src/tensors/data_type';
import { EXAMPLE_MODELS, loadExampleModel, readExampleReference } from './example_models';

describe('signatureDebugString', () => {
  test('prints every signature of the fixtures as protobuf prints the SignatureDef TensorFlow saved', async () => {
    for (const model of EXAMPLE_MODELS) {
      const servable = await loadExampleModel(model);
      try {
        const reference = readExampleReference(model).signatures;
        for (const [name, { debug_string }] of Object.entries(reference)) {
          const signature = servable.signatures.get(name);
          if (!signature) continue; // e.g. __saved_model_init_op without tensors
          assert.equal(signatureDebugString(signature), debug_string, `${model} ${name}`);
        }
      } finally {
        servable.unload();
      }
    }
  });

  test('unknown rank, scalars, and names that need escaping', () => {
    const text = signatureDebugString({
      methodName: '',
      inputs: new Map([['b', { name: 'é"\n', dtype: DataType.DT_INT64, shape: null }]]),
      outputs: new Map([['a', { name: 'out', dtype: DataType.DT_INVALID, shape: [] }]]),
    });
    assert.equal(
      text,
      [
        'inputs {',
        '  key: "b"',
        '  value {',
        '    name: "\\303\\251\\"\\n"',
        '    dtype: DT_INT64',
        '    tensor_shape {',
        '      unknown_rank: true',
        '    }',
        '  }',
        '}',
        'outputs {',
        '  key: "a"',
        '  value {',
        '    name: "out"',
        '    tensor_shape {',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});
