import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadedServable } from '../../src/platforms/platform';
import { Protos } from '../../src/protos';
import { replayClassify, replayMultiInference, replayRegress } from '../../src/servables/example_replayers';
import { CLASSIFY_METHOD_NAME, REGRESS_METHOD_NAME } from '../../src/servables/signature';
import type { WarmupReplayer } from '../../src/servables/warmup/warmup_replayer';
import { FakeServable } from '../server/rest/fakes/fake_servable';
import { casesOf, loadExampleModel, readExampleReference } from './example_models';

// They plug into warmup's replayers map as they are.
const replayers: WarmupReplayer[] = [replayClassify, replayRegress, replayMultiInference];

describe('warmup replayers for classify_log, regress_log and multi_inference_log', () => {
  let tf1: LoadedServable;
  const [testCase] = casesOf(readExampleReference('examples_tf1'), 'serving_default');
  const examples = testCase.examples.map((e) => Protos.Example.decode(Buffer.from(e, 'base64')));
  const input = { example_list: { examples } };
  const request = (type: typeof Protos.ClassificationRequest, object: object) =>
    type.encode(type.fromObject(object)).finish();

  before(async () => {
    tf1 = await loadExampleModel('examples_tf1');
  });
  after(() => tf1.unload());

  test('replay logged requests through the servable, whatever model and version they name', async () => {
    assert.equal(replayers.length, 3);
    const modelSpec = { name: 'logged_under_another_name', version: { value: 99 } };
    await replayClassify(tf1, request(Protos.ClassificationRequest, { model_spec: modelSpec, input }));
    await replayRegress(
      tf1,
      request(Protos.RegressionRequest, { model_spec: { ...modelSpec, signature_name: 'regress_x_to_y' }, input }),
    );
    await replayMultiInference(
      tf1,
      request(Protos.MultiInferenceRequest, {
        tasks: [
          { model_spec: { name: 'm' }, method_name: CLASSIFY_METHOD_NAME },
          { model_spec: { name: 'm', signature_name: 'regress_x_to_y' }, method_name: REGRESS_METHOD_NAME },
        ],
        input,
      }),
    );
  });

  test('the run really happens: a servable sees the examples', async () => {
    const seen: number[] = [];
    const spy = new FakeServable(tf1.signatures, (run) => {
      seen.push((run.inputs.get('inputs') as { shape: number[] }).shape[0]);
      return tf1.runChecked(run);
    });
    await replayClassify(spy, request(Protos.ClassificationRequest, { model_spec: { name: 'm' }, input }));
    assert.deepEqual(seen, [examples.length]);
  });

  test('a request that fails as the API would fail it rejects', async () => {
    await assert.rejects(replayRegress(tf1, request(Protos.RegressionRequest, { model_spec: { name: 'm' }, input })), {
      code: 'INVALID_ARGUMENT',
      message: 'Expected one output Tensor.',
    });
    await assert.rejects(replayClassify(tf1, request(Protos.ClassificationRequest, { model_spec: { name: 'm' } })), {
      message: 'Input is empty.',
    });
    await assert.rejects(replayClassify(tf1, Buffer.from([0xff, 0xff])), {
      code: 'INVALID_ARGUMENT',
      message: /^Failed to parse the ClassificationRequest: /,
    });
  });
});
