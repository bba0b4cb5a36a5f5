/**
 * --platform_config_file as duoserve maps it: which platforms serve, and which SessionBundleConfig
 * fields reach the "tensorflow" platform (the rest warned about, or refused).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ServingError } from '../../src/errors/serving_error';
import { readPlatformConfigFile } from '../../src/platforms/platform_config_file';
import { platformRegistry } from '../../src/platforms/registry';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-platform-config-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

let written = 0;
function configFile(text: string): string {
  const file = path.join(scratch, `platform-${++written}.config`);
  fs.writeFileSync(file, text);
  return file;
}

const tensorflowEntry = (legacyConfig: string) => `platform_configs {
  key: "tensorflow"
  value {
    source_adapter_config {
      [type.googleapis.com/tensorflow.serving.SavedModelBundleSourceAdapterConfig] {
        legacy_config { ${legacyConfig} }
      }
    }
  }
}`;

function refusal(text: string): string {
  try {
    readPlatformConfigFile(configFile(text));
  } catch (error) {
    assert.ok(error instanceof ServingError, String(error));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail('expected the platform config to be refused');
}

describe('readPlatformConfigFile', () => {
  test('the tensorflow legacy_config: session_config, tags and warmup reach the platform', () => {
    const configs = readPlatformConfigFile(
      configFile(
        tensorflowEntry(`
          session_config { intra_op_parallelism_threads: 3 graph_options { optimizer_options { opt_level: L0 } } }
          saved_model_tags: ["serve", "cpu"]
          enable_model_warmup: true
          model_warmup_options { num_request_iterations { value: 4 } }
          remove_unused_fields_from_bundle_metagraph: true
          prefer_tflite_model: true
          num_tflite_pools: 3`),
      ),
    );
    assert.deepEqual(configs.names, ['tensorflow']);
    assert.deepEqual(configs.tensorflow, {
      options: {
        savedModelTags: ['serve', 'cpu'],
        sessionConfig: { intra_op_parallelism_threads: 3, graph_options: { optimizer_options: { opt_level: -1 } } },
        removeUnusedFieldsFromBundleMetagraph: true,
        preferTfLiteModel: true,
        numTfLitePools: 3,
      },
      warmup: { enableModelWarmup: true, numRequestIterations: 4 },
    });
    assert.deepEqual(configs.warnings, []);
  });

  test("the proto's defaults, not the flags': no warmup, the serve tag, the whole MetaGraphDef", () => {
    const { tensorflow } = readPlatformConfigFile(configFile(tensorflowEntry('')));
    assert.deepEqual(tensorflow, {
      options: {
        savedModelTags: [],
        sessionConfig: {},
        removeUnusedFieldsFromBundleMetagraph: false,
        preferTfLiteModel: false,
        numTfLitePools: 1,
      },
      warmup: { enableModelWarmup: false, numRequestIterations: 0 },
    });
  });

  test('fields duoserve does not act on are named in one warning', () => {
    const { warnings } = readPlatformConfigFile(
      configFile(
        tensorflowEntry(`
          num_tflite_interpreters_per_pool: 2
          model_warmup_options { num_model_warmup_threads { value: 2 } }`),
      ),
    );
    assert.deepEqual(warnings, [
      '--platform_config_file: tensorflow legacy_config fields num_tflite_interpreters_per_pool, ' +
        'model_warmup_options.num_model_warmup_threads are not supported by duoserve and are ignored',
    ]);
  });

  test('batching_parameters and enable_per_model_batching_params batch the tensorflow platform', () => {
    const { tensorflow, warnings } = readPlatformConfigFile(
      configFile(
        tensorflowEntry(`
          batching_parameters { max_batch_size { value: 8 } allowed_batch_sizes: [4, 8] }
          enable_per_model_batching_params: true`),
      ),
    );
    assert.deepEqual(warnings, []);
    assert.equal(tensorflow!.batching!.perModel, true);
    assert.equal(tensorflow!.batching!.parameters.maxBatchSize, 8);
    assert.deepEqual(tensorflow!.batching!.parameters.allowedBatchSizes, [4, 8]);
  });

  test('mixed_precision: "bfloat16" reaches the session config; another mode is warned about', () => {
    const { tensorflow } = readPlatformConfigFile(configFile(tensorflowEntry('mixed_precision: "bfloat16"')));
    assert.deepEqual(tensorflow!.options.sessionConfig, {
      graph_options: { rewrite_options: { auto_mixed_precision_onednn_bfloat16: 1 } },
    });
    const { warnings } = readPlatformConfigFile(configFile(tensorflowEntry('mixed_precision: "fp16"')));
    assert.deepEqual(warnings, [
      '--platform_config_file: fp16 auto mixed precision is not supported. Valid option: bfloat16',
    ]);
  });

  test('pytorch and chain take no adapter config; the map names the platforms that serve', () => {
    const file = configFile(`${tensorflowEntry('')}\nplatform_configs { key: "chain" value {} }`);
    const configs = readPlatformConfigFile(file);
    assert.deepEqual(configs.names, ['tensorflow', 'chain']);
    // Without a manager there is no chain platform at all; the pytorch one is left out by the map.
    assert.deepEqual([...platformRegistry({ savedModelTags: [] }, undefined, configs).keys()], ['tensorflow']);
    const torchOnly = readPlatformConfigFile(configFile('platform_configs { key: "pytorch" value {} }'));
    assert.deepEqual([...platformRegistry({ savedModelTags: [] }, undefined, torchOnly).keys()], ['pytorch']);
  });

  test('what duoserve cannot serve is refused', () => {
    assert.equal(
      refusal('platform_configs { key: "tflite" value {} }'),
      '--platform_config_file: duoserve has no platform tflite (it serves tensorflow, pytorch, chain)',
    );
    assert.equal(
      refusal('platform_configs { key: "tensorflow" value {} }'),
      '--platform_config_file: platform tensorflow needs a tensorflow.serving.SavedModelBundleSourceAdapterConfig ' +
        'as its source_adapter_config, got none',
    );
    assert.match(
      refusal(
        'platform_configs { key: "tensorflow" value { source_adapter_config { ' +
          '[type.googleapis.com/tensorflow.ConfigProto] {} } } }',
      ),
      /needs a tensorflow\.serving\.SavedModelBundleSourceAdapterConfig .*, got a tensorflow\.ConfigProto$/,
    );
    assert.match(
      refusal(
        'platform_configs { key: "pytorch" value { source_adapter_config { ' +
          '[type.googleapis.com/tensorflow.ConfigProto] {} } } }',
      ),
      /platform pytorch takes no source_adapter_config \(got a tensorflow\.ConfigProto\); leave it out/,
    );
    assert.equal(
      refusal(tensorflowEntry('session_target: "grpc://remote:2222"')),
      '--platform_config_file: session_target is not supported: duoserve runs local sessions only',
    );
    assert.match(
      refusal(tensorflowEntry('no_such_field: 1')),
      /^Invalid protobuf file: .*unknown field 'no_such_field'/,
    );
  });
});
