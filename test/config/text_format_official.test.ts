/**
 * Our text-format parser against protobuf's own (the Python text_format of the stock packages,
 * which follows the C++ TextFormat::Parser TF-Serving uses): for each input, both accept it and
 * produce the same message, or both refuse it. Inputs where the two protobuf implementations
 * themselves differ (`- 5`, `\q`, `\?`, surrogate-pair escapes) are left to text_format.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { parseTextFormat } from '../../src/config/text_format';
import { protoType } from '../../src/protos';
import { officialBatch } from '../protos/official_protos';

const MODEL_SERVER_CONFIG = 'tensorflow.serving.ModelServerConfig';
const TENSOR = 'tensorflow.TensorProto';
const PREDICT_REQUEST = 'tensorflow.serving.PredictRequest';
const CONFIG_PROTO = 'tensorflow.ConfigProto';
const PLATFORM_CONFIG_MAP = 'tensorflow.serving.PlatformConfigMap';

const ACCEPTED: Array<[string, string]> = [
  [
    MODEL_SERVER_CONFIG,
    `model_config_list {
      config {
        name: 'my_first_model'
        base_path: '/tmp/my_first_model/'
        model_platform: 'tensorflow'
      }
      config {
        name: 'my_second_model'
        base_path: '/tmp/my_second_model/'
        model_platform: 'tensorflow'
        model_version_policy {
          specific {
            versions: 42
            versions: 43
          }
        }
        version_labels {
          key: 'stable'
          value: 42
        }
        version_labels {
          key: 'canary'
          value: 43
        }
      }
    }`,
  ],
  [
    MODEL_SERVER_CONFIG,
    `# every ModelConfig field, in unusual spellings
    model_config_list: {
      config: [
        < name: "a", base_path: "gs://bucket/a"; model_type: TENSORFLOW,
          model_version_policy < latest < num_versions: 3 > > >,
        { name: "b" base_path: "/b" model_platform: "pytorch" model_version_policy { all {} }
          version_labels: [ { key: "x" value: 0x10 }, { key: "y" value: 017 } ]
          logging_config { log_collector_config { type: "file" filename_prefix: "/logs/b" }
                           sampling_config { sampling_rate: 0.25 attributes: 3 } } }
      ]
    }`,
  ],
  [MODEL_SERVER_CONFIG, 'model_config_list {}'],
  [MODEL_SERVER_CONFIG, ''],
  [
    MODEL_SERVER_CONFIG,
    String.raw`custom_model_config { type_url: "type.googleapis.com/tensorflow.serving.ModelSpec" value: "\n\001a" }`,
  ],
  [
    TENSOR,
    `dtype: DT_INT32 tensor_shape { dim { size: -1 name: "batch" } dim: { size: 3 } }
     int_val: [017, 0x1F, -0x10, 2147483647, -2147483648] version_number: 7`,
  ],
  [TENSOR, 'float_val: [1f, .5, -inf, 1e3, 2.5E-1, 7, nan] double_val: [-0.0, Infinity, 3]'],
  [TENSOR, 'bool_val: [t, 1, True, true, f, 0, False, false]'],
  [TENSOR, String.raw`string_val: 'a\001\x41\u00e9' "b" string_val: '\377\0' string_val: "\"\'\\\n\t\r\a\b\f\v"`],
  [TENSOR, 'int64_val: [-9223372036854775808, 9223372036854775807] uint64_val: 18446744073709551615'],
  [TENSOR, 'uint32_val: 4294967295 half_val: 15360 scomplex_val: [1, -1] dcomplex_val: 0.5'],
  [TENSOR, 'dtype: 3'],
  [TENSOR, 'dtype: 99'],
  [TENSOR, 'tensor_content: "\\x00\\x01" ; dtype: DT_UINT8 ,'],
  [
    PREDICT_REQUEST,
    `model_spec { name: "m" version { value: 3 } signature_name: "serving_default" }
     inputs { key: "x" value { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } float_val: [1, 2] } }
     inputs { key: "y" value < dtype: DT_STRING string_val: "é" > }
     inputs { key: "x" value { dtype: DT_DOUBLE } }
     output_filter: ["a", 'b'] output_filter: "c"`,
  ],
  [PREDICT_REQUEST, `model_spec { name: 'm' 'n' version_label: "\\U0001F600 ü" }`],
  [
    CONFIG_PROTO,
    `# what a CPU server's --tensorflow_session_config_file sets
    intra_op_parallelism_threads: 4 inter_op_parallelism_threads: 2 use_per_session_threads: true
    session_inter_op_thread_pool { num_threads: 3 global_name: "shared" } session_inter_op_thread_pool {}
    device_count { key: "CPU" value: 1 } device_filters: "/job:localhost" placement_period: 5
    allow_soft_placement: true log_device_placement: false operation_timeout_in_ms: 5000
    isolate_session_state: true share_cluster_devices_in_session: false
    gpu_options { allow_growth: true per_process_gpu_memory_fraction: 0.5 visible_device_list: "0" }
    graph_options {
      infer_shapes: true place_pruned_graph: true build_cost_model: 10 timeline_step: 2
      optimizer_options { global_jit_level: ON_1 opt_level: L0 do_function_inlining: true cpu_global_jit: true }
      rewrite_options {
        constant_folding: OFF layout_optimizer: AGGRESSIVE memory_optimization: MANUAL
        meta_optimizer_iterations: ONE cpu_layout_conversion: NCHW_TO_NHWC min_graph_nodes: -1
        auto_mixed_precision_onednn_bfloat16: ON optimizers: ["constfold", "pruning"]
        auto_parallel { enable: true num_replicas: 2 } scoped_allocator_opts { enable_op: "CollectiveReduce" }
      }
    }
    experimental {
      disable_thread_spinning: true use_numa_affinity: true executor_type: "DEFAULT"
      session_metadata { name: "m" version: 3 } mlir_bridge_rollout: MLIR_BRIDGE_ROLLOUT_DISABLED
    }`,
  ],
  [CONFIG_PROTO, 'graph_options { optimizer_options { global_jit_level: OFF } }'],
  [
    PLATFORM_CONFIG_MAP,
    `platform_configs {
      key: "tensorflow"
      value { source_adapter_config { [type.googleapis.com/tensorflow.ConfigProto] { intra_op_parallelism_threads: 2 } } }
    }
    platform_configs { key: "pytorch" value {} }
    platform_configs { key: "chain" value { source_adapter_config: < [type.googleprod.com/tensorflow.GPUOptions]: { } > } }`,
  ],
];

const REFUSED: Array<[string, string]> = [
  [MODEL_SERVER_CONFIG, 'model_config_list { config { nmae: "x" } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { name: "a" name: "b" } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list {} model_config_list {}'],
  [MODEL_SERVER_CONFIG, 'model_config_list {} custom_model_config {}'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { model_version_policy { all {} latest {} } } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { model_type: PYTORCH } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { name: "a" }'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { name "a" } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { name: "a\n" } }'],
  [MODEL_SERVER_CONFIG, 'model_config_list: [{}]'],
  [MODEL_SERVER_CONFIG, 'model_config_list { config { model_version_policy { latest { num_versions: -1 } } } }'],
  [TENSOR, 'int_val: 2147483648'],
  [TENSOR, 'int_val: 08'],
  [TENSOR, 'int_val: 1f'],
  [TENSOR, 'int_val: 1.5'],
  [TENSOR, 'int_val: 1abc'],
  [TENSOR, 'float_val: 0x10'],
  [TENSOR, 'float_val: 1.5.3'],
  [TENSOR, 'bool_val: 2'],
  [TENSOR, 'uint64_val: -1'],
  [TENSOR, 'int64_val: 9223372036854775808'],
  [TENSOR, 'dtype: DT_NOPE'],
  [TENSOR, 'version_number: 1 version_number: 2'],
  [TENSOR, 'int_val: 1;, int_val: 2'],
  [TENSOR, String.raw`string_val: '\400'`],
  [PREDICT_REQUEST, String.raw`model_spec { name: '\xff' }`],
  [PREDICT_REQUEST, 'model_spec { version { value: 1 } version_label: "x" }'],
  [CONFIG_PROTO, 'intra_op_parallelism_threads: 2 nonexistent_option: 1'],
  [CONFIG_PROTO, 'graph_options { optimizer_options { global_jit_level: ON_3 } }'],
  [CONFIG_PROTO, 'intra_op_parallelism_threads: 2147483648'],
  [CONFIG_PROTO, 'device_count { key: "CPU" value: "one" }'],
  [
    PLATFORM_CONFIG_MAP,
    'platform_configs { key: "t" value { source_adapter_config { [type.googleapis.com/x.Nope] {} } } }',
  ],
  [
    PLATFORM_CONFIG_MAP,
    'platform_configs { value { source_adapter_config { [type.googleapis.com/tensorflow.ConfigProto] { nope: 1 } } } }',
  ],
];

describe('text format agrees with protobuf text_format', () => {
  const ours = (typeName: string, text: string) => {
    const type = protoType(typeName);
    return Buffer.from(type.encode(parseTextFormat(type, text, 'case.txt')).finish()).toString('base64');
  };
  let results: any[];

  before(() => {
    results = officialBatch([
      ...ACCEPTED.flatMap(([typeName, text]) => [
        { command: 'text-to-json', args: [typeName], stdin: text },
        { command: 'decode', args: [typeName, ours(typeName, text)] },
      ]),
      ...REFUSED.map(([typeName, text]) => ({ command: 'text-to-json', args: [typeName], stdin: text })),
    ]);
  });

  test('inputs both parsers accept give the same message', () => {
    ACCEPTED.forEach(([typeName, text], index) => {
      const [theirs, oursDecoded] = [results[2 * index], results[2 * index + 1]];
      assert.equal(theirs.error, undefined, `protobuf refused ${typeName}: ${text}\n${theirs.error}`);
      assert.deepEqual(oursDecoded, theirs.message, `${typeName}: ${text}`);
    });
  });

  test('inputs protobuf refuses, we refuse too', () => {
    REFUSED.forEach(([typeName, text], index) => {
      const theirs = results[2 * ACCEPTED.length + index];
      assert.notEqual(theirs.error, undefined, `protobuf accepted ${typeName}: ${text}`);
      assert.throws(() => ours(typeName, text), /^ConfigError: case\.txt:\d+:\d+: /, `${typeName}: ${text}`);
    });
  });
});
