/**
 * Both framework addons in one process: libtensorflow and libtorch loaded side by side, a
 * model of each run, and a TensorFlow output handed to a PyTorch model natively.
 */
import { execFileSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { loadBackendAddon } from '../../../src/native/backend_addon';
import { DataType, DataTypeName, dataTypeName } from '../../../src/tensors/data_type';
import {
  asHost,
  assertHostEquals,
  assertValuesClose,
  PYTHON,
  REPO_ROOT,
  tensorProtoBytes,
  torchModel,
  torchReference,
  valuesOf,
} from './torch_fixtures';

interface TfTensorJson {
  dtype: number;
  shape: number[];
  values: number[];
}
interface TfReference {
  signatures: Record<string, { inputs: Record<string, { name: string }>; outputs: Record<string, { name: string }> }>;
  cases: Array<{ signature: string; inputs: Record<string, TfTensorJson>; outputs: Record<string, TfTensorJson> }>;
}

/** test/fixtures/export_tf_fixtures.py's two_signatures model (exported here if setup has not). */
function tfTwoSignatures(): { dir: string; reference: TfReference } {
  const root = path.join(REPO_ROOT, 'var', 'models', 'test', 'tensorflow');
  const referenceFile = path.join(root, 'two_signatures', 'reference.json');
  if (!fs.existsSync(referenceFile)) {
    execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'export_tf_fixtures.py'), root], {
      stdio: 'inherit',
    });
  }
  return { dir: path.join(root, 'two_signatures', '1'), reference: JSON.parse(fs.readFileSync(referenceFile, 'utf8')) };
}

const asTorchJson = (tensor: TfTensorJson) => ({ ...tensor, dtype: dataTypeName(tensor.dtype) as DataTypeName });

describe('TensorFlow and PyTorch in one process', () => {
  it('loads both addons, runs a model of each, and chains TensorFlow into PyTorch', async () => {
    const tensorflow = loadBackendAddon('tensorflow');
    const pytorch = loadBackendAddon('pytorch');
    const tf = tfTwoSignatures();
    const tfModel = await tensorflow.load(tf.dir, {});
    const torchTuple = await pytorch.load(torchModel('tuple_out'), {});
    const torchMlp = await pytorch.load(torchModel('traced_mlp'), {});
    try {
      const signature = tf.reference.signatures.serving_default;
      const tfCase = tf.reference.cases.find((c) => c.signature === 'serving_default')!;
      const tfInputs: Array<[string, Uint8Array]> = Object.entries(tfCase.inputs).map(([alias, tensor]) => [
        signature.inputs[alias].name,
        tensorProtoBytes(asTorchJson(tensor)),
      ]);
      const yName = signature.outputs.y.name;
      const mlpReference = torchReference('traced_mlp');

      // Interleaved, concurrent runs of both frameworks.
      const [tfOutputs, [[, mlpOutput]]] = await Promise.all([
        tensorflow.run(tfModel, tfInputs, [yName], 'host'),
        pytorch.run(torchMlp, [['x', tensorProtoBytes(mlpReference.inputs.x)]], [], 'host'),
      ]);
      assertHostEquals(mlpOutput, mlpReference.outputs.output_0);
      const y = asHost(tfOutputs[0][1]);
      assert.equal(y.dtype, DataType.DT_FLOAT);
      assertValuesClose(valuesOf(y.dtype, y.data!), tfCase.outputs.y.values);

      // TensorFlow's output tensor goes into PyTorch as it is: y is [2, 3], tuple_out sums rows.
      const [[, sums]] = await pytorch.run(torchTuple, [['x', y.handle]], ['output_0'], 'host');
      const yValues = tfCase.outputs.y.values;
      assertValuesClose(valuesOf(DataType.DT_FLOAT, asHost(sums).data!), [
        yValues[0] + yValues[1] + yValues[2],
        yValues[3] + yValues[4] + yValues[5],
      ]);
    } finally {
      tensorflow.unload(tfModel);
      pytorch.unload(torchTuple);
      pytorch.unload(torchMlp);
    }
  });
});
