/**
 * A chain under batching: the chain itself is not batched, and each step's predict() joins its
 * model's queue, so steps of concurrent chain requests run as one batch of that model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { queueBatchRows } from '../../src/batching/batching_metrics';
import { batchingParametersFromMessage, schedulerOptions } from '../../src/batching/batching_parameters';
import { BatchingServable } from '../../src/batching/batching_servable';
import { SharedBatchScheduler } from '../../src/batching/shared_batch_scheduler';
import { parseModelServerConfigText } from '../../src/config/model_server_config';
import { parseTextFormat } from '../../src/config/text_format';
import type { Manager } from '../../src/core/manager';
import type { ServableHandle } from '../../src/core/servable_handle';
import { platformRegistry } from '../../src/platforms/registry';
import type { InferenceServable } from '../../src/servables/inference_servable';
import { predict } from '../../src/servables/predictor';
import { Protos } from '../../src/protos';
import { ServerCore } from '../../src/server/server_core';
import { EXAMPLES, floatInput, floats, scratchDir, writeChain } from '../platforms/chain/chain_server';

const CHAIN = `
input { name: "x" }
step { name: "first" model: "half_plus_two" inputs { key: "x" value: "request:x" } }
step { name: "second" model: "half_plus_two" inputs { key: "x" value: "first:y" } }
output { name: "y" source: "second:y" }
`;

async function batchesOf(model: string): Promise<{ batches: number; rows: number }> {
  const values = (await queueBatchRows.get()).values.filter((value) => value.labels.model === model);
  const sum = (suffix: string) =>
    values.filter((value) => value.metricName?.endsWith(suffix)).reduce((total, value) => total + value.value, 0);
  return { batches: sum('_count'), rows: sum('_sum') };
}

describe('batching and chains', () => {
  const scratch = scratchDir();
  const chain = writeChain(scratch, 'twice', { 1: CHAIN });
  const parameters = batchingParametersFromMessage(
    parseTextFormat(
      Protos.BatchingParameters,
      'max_batch_size { value: 32 } batch_timeout_micros { value: 2000 }',
      't',
    ),
  );
  const batching = {
    parameters,
    perModel: false,
    scheduler: new SharedBatchScheduler(schedulerOptions(parameters, 2)),
  };
  let core: ServerCore | undefined;
  const manager = new Proxy({} as Manager, {
    get: (_target, key) => {
      const value = Reflect.get(core!.manager, key);
      return typeof value === 'function' ? value.bind(core!.manager) : value;
    },
  });
  const config = parseModelServerConfigText(
    `model_config_list {
      config { name: "half_plus_two" base_path: "${path.join(EXAMPLES, 'half_plus_two')}" model_platform: "tensorflow" }
      config { name: "twice" base_path: "${chain.basePath}" model_platform: "chain" }
    }`,
    'test.config',
  );
  core = new ServerCore(config, {
    platforms: platformRegistry({ savedModelTags: [], batching }, manager),
    fileSystemPollWaitSeconds: 1,
    numLoadThreads: 2,
    log: () => undefined,
  });
  after(async () => {
    await core.shutdown();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const run = async (name: string, x: number[]) => {
    const handle: ServableHandle<InferenceServable> = core.manager.getServableHandle({ name });
    try {
      const request = {
        signatureName: '',
        outputFilter: [],
        encoding: 'host' as const,
        inputs: new Map([['x', floatInput(x, [x.length])]]),
      };
      return { servable: handle.servable, outputs: await predict(handle.servable, request) };
    } finally {
      handle.release();
    }
  };

  test("each step of concurrent chain requests joins its model's queue; the chain is not batched", async () => {
    await core.waitUntilModelsAvailable();
    const before = await batchesOf('half_plus_two');
    const inputs = Array.from({ length: 8 }, (_, i) => [i, i + 0.5]);
    const answers = await Promise.all(inputs.map((x) => run('twice', x)));
    answers.forEach(({ outputs }, i) => {
      // half_plus_two twice: (x / 2 + 2) / 2 + 2.
      assert.deepEqual(
        [...floats(outputs.get('y'))],
        inputs[i].map((x) => (x / 2 + 2) / 2 + 2),
      );
    });
    assert.ok(!(answers[0].servable instanceof BatchingServable), 'the chain is not wrapped');
    const after = await batchesOf('half_plus_two');
    const rows = after.rows - before.rows;
    const batches = after.batches - before.batches;
    assert.equal(rows, 2 * 2 * inputs.length, 'two steps of two rows per request');
    assert.ok(rows / batches > 1, `${batches} batches for ${rows} rows`);
    assert.ok((await run('half_plus_two', [1])).servable instanceof BatchingServable);
  });
});
