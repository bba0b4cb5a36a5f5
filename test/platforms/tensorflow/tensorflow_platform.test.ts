import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import * as protobuf from 'protobufjs';
import { ServingError } from '../../../src/errors/serving_error';
import { loadBackendAddon } from '../../../src/native/backend_addon';
import { encodeSessionConfig, withMixedPrecision } from '../../../src/platforms/tensorflow/session_config';
import {
  isTensorFlowVersionDir,
  loadTensorFlowModel,
  tensorFlowPlatform,
} from '../../../src/platforms/tensorflow/tensorflow_platform';
import { readReference, versionDir } from './fixtures';
import { assertTensorMatches, fieldsSource, plainOutput } from './tensors';
import { predict } from '../../../src/servables/predictor';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-tf-platform-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

async function rejection(promise: Promise<unknown>): Promise<ServingError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ServingError, `not a ServingError: ${error}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('isTensorFlowVersionDir', () => {
  test('a SavedModel directory', () => assert.equal(isTensorFlowVersionDir(versionDir('keras_dense')), true));
  test('saved_model.pbtxt counts too', () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'pbtxt-'));
    fs.writeFileSync(path.join(dir, 'saved_model.pbtxt'), '');
    assert.equal(isTensorFlowVersionDir(dir), true);
  });
  test('an empty or missing directory', () => {
    assert.equal(isTensorFlowVersionDir(fs.mkdtempSync(path.join(scratch, 'empty-'))), false);
    assert.equal(isTensorFlowVersionDir(path.join(scratch, 'nowhere')), false);
  });
});

describe('encodeSessionConfig', () => {
  test('writes intra_op (field 2) and inter_op (field 5) parallelism', () => {
    const config = { intra_op_parallelism_threads: 4, inter_op_parallelism_threads: 2 };
    assert.deepEqual([...encodeSessionConfig(config)], [0x10, 4, 0x28, 2]);
    assert.deepEqual([...encodeSessionConfig({ inter_op_parallelism_threads: 300 })], [0x28, 0xac, 0x02]);
  });
  test('is empty when TensorFlow picks everything', () => {
    assert.equal(encodeSessionConfig({}).length, 0);
    assert.equal(encodeSessionConfig({ intra_op_parallelism_threads: 0, inter_op_parallelism_threads: 0 }).length, 0);
  });
});

describe('loadTensorFlowModel', () => {
  test('loads with explicit thread pools and runs', async () => {
    const model = await loadTensorFlowModel(versionDir('two_signatures'), {
      tags: ['serve'],
      sessionConfig: { intra_op_parallelism_threads: 2, inter_op_parallelism_threads: 1 },
    });
    try {
      const reference = readReference('two_signatures').cases[0];
      const results = await model.addon.run(
        model.handle,
        [['serving_default_x:0', fieldsSource(reference.inputs.x)]],
        ['StatefulPartitionedCall:1'],
        'host',
      );
      assertTensorMatches(plainOutput(results[0][1]), reference.outputs.y, 'y');
    } finally {
      model.addon.unload(model.handle);
    }
  });

  test('a directory without a SavedModel is a clear NOT_FOUND, and the process goes on', async () => {
    const empty = fs.mkdtempSync(path.join(scratch, 'not-a-model-'));
    const error = await rejection(loadTensorFlowModel(empty, { tags: ['serve'] }));
    assert.equal(error.code, 'NOT_FOUND');
    assert.match(error.message, /SavedModel/);
    assert.ok(error.message.includes(empty), error.message);
    const model = await loadTensorFlowModel(versionDir('keras_dense'), { tags: [] });
    model.addon.unload(model.handle);
  });

  test('a corrupt saved_model.pb is an error, not a crash', async () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'corrupt-'));
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), Buffer.from('definitely not a protobuf \xff\xff\xff'));
    const error = await rejection(loadTensorFlowModel(dir, { tags: ['serve'] }));
    assert.notEqual(error.code, 'OK');
    assert.ok(error.message.length > 0);
  });

  test('tags no MetaGraphDef carries', async () => {
    const error = await rejection(loadTensorFlowModel(versionDir('two_signatures'), { tags: ['serve', 'gpu'] }));
    assert.equal(error.code, 'NOT_FOUND');
    assert.match(error.message, /tags/);
  });

  test('a config_proto that is not a ConfigProto is INVALID_ARGUMENT', async () => {
    const addon = loadBackendAddon('tensorflow');
    await assert.rejects(addon.load(versionDir('two_signatures'), { config_proto: Buffer.from([0xff, 0xff, 0xff]) }), {
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('XLA JIT compilation (--xla_cpu_compilation_enabled)', () => {
  const runJitModel = async (xlaCompilation: boolean) => {
    const model = await loadTensorFlowModel(versionDir('jit_compiled'), { tags: ['serve'], xlaCompilation });
    try {
      const reference = readReference('jit_compiled').cases[0];
      const results = await model.addon.run(
        model.handle,
        [['serving_default_x:0', fieldsSource(reference.inputs.x)]],
        ['PartitionedCall:0'],
        'host',
      );
      assertTensorMatches(plainOutput(results[0][1]), reference.outputs.y, 'y');
    } finally {
      model.addon.unload(model.handle);
    }
  };

  test('disabled, as tensorflow_model_server starts without the flag: a jit_compile model fails to run', async () => {
    await assert.rejects(runJitModel(false), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INTERNAL');
      assert.match(error.message, /XLA compilation disabled/);
      return true;
    });
  });

  test('enabled: the same model runs, and gives what TensorFlow computed', async () => {
    await runJitModel(true);
  });
});

describe('--remove_unused_fields_from_bundle_metagraph', () => {
  test('keeps only signature_def of the MetaGraphDef: the same signatures, from far fewer bytes', async () => {
    const whole = await loadTensorFlowModel(versionDir('keras_dense'), { tags: ['serve'] });
    const trimmed = await loadTensorFlowModel(versionDir('keras_dense'), { tags: ['serve'], signatureDefsOnly: true });
    try {
      const [wholeBytes, trimmedBytes] = [whole, trimmed].map((model) => model.addon.describe(model.handle));
      assert.deepEqual(trimmed.signatures, whole.signatures);
      // graph_def (field 2) and the rest are gone; only signature_def entries (field 5) remain.
      const fieldNumbers = new Set<number>();
      const reader = protobuf.Reader.create(trimmedBytes);
      while (reader.pos < reader.len) {
        const tag = reader.uint32();
        fieldNumbers.add(tag >>> 3);
        reader.skipType(tag & 7);
      }
      assert.deepEqual([...fieldNumbers], [5]);
      assert.ok(trimmedBytes.length * 5 < wholeBytes.length, `${trimmedBytes.length} of ${wholeBytes.length} bytes`);
    } finally {
      whole.addon.unload(whole.handle);
      trimmed.addon.unload(trimmed.handle);
    }
  });
});

describe('--mixed_precision=bfloat16', () => {
  test('TensorFlow runs the dense model in bfloat16: close to, but not exactly, its float32 results', async () => {
    const sessionConfig = withMixedPrecision({}, 'bfloat16');
    const model = await loadTensorFlowModel(versionDir('keras_dense'), { tags: ['serve'], sessionConfig });
    try {
      const reference = readReference('keras_dense');
      const signature = reference.signatures.serving_default;
      const [[inputAlias, input]] = Object.entries(reference.cases[0].inputs);
      const [[outputAlias, expected]] = Object.entries(reference.cases[0].outputs);
      const results = await model.addon.run(
        model.handle,
        [[signature.inputs[inputAlias].name, fieldsSource(input)]],
        [signature.outputs[outputAlias].name],
        'host',
      );
      const got = plainOutput(results[0][1]).values as number[];
      const errors = got.map((value, i) => Math.abs(value - (expected.values[i] as number)));
      // bfloat16 keeps 8 bits of mantissa: errors of ~1e-2 on these magnitudes, never 0 everywhere.
      assert.ok(Math.max(...errors) > 1e-5, `no bfloat16 rounding visible: ${errors}`);
      assert.ok(Math.max(...errors) < 5e-2, `bfloat16 errors too large: ${errors}`);
    } finally {
      model.addon.unload(model.handle);
    }
  });
});

describe('tensorFlowPlatform', () => {
  test('loads a version as a servable that runs signatures by alias', async () => {
    const platform = tensorFlowPlatform({ savedModelTags: ['serve'] });
    assert.equal(platform.name, 'tensorflow');
    assert.equal(platform.isVersionDir(versionDir('two_signatures')), true);
    const servable = await platform.load(versionDir('two_signatures'));
    try {
      const reference = readReference('two_signatures').cases.find((c) => c.signature === 'add')!;
      const outputs = await predict(servable, {
        signatureName: 'add',
        inputs: new Map(Object.entries(reference.inputs).map(([alias, t]) => [alias, fieldsSource(t)])),
        outputFilter: [],
        encoding: 'fields',
      });
      assertTensorMatches(plainOutput(outputs.get('sum')!), reference.outputs.sum, 'sum');
    } finally {
      servable.unload();
    }
  });
});
