/**
 * proto/ is written here from wire facts; this proves it matches the official descriptors of the
 * stock tensorflow-serving-api / tensorflow Python packages: every field we declare has the
 * official number, name, type, cardinality and oneof, every enum value its official number,
 * and every official field we leave out is listed below with the reason. Bytes then travel
 * both ways between the stock Python classes and protobufjs.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { Protos, protoRoot } from '../../src/protos';
import { definitionsOf, fieldProblems, messageProblems, methodProblems, omittedFields, strip } from './descriptor_diff';
import { officialBatch, OfficialDescriptors, PROTO_DIR } from './official_protos';

/** Official fields proto/ leaves out on purpose: protobufjs skips them as unknown fields. */
const OMITTED_FIELDS: Record<string, Record<number, string>> = {
  'tensorflow.serving.PredictRequest': {
    5: 'predict_streamed_options: streaming Predict, not served',
    6: 'client_id: streaming Predict, not served',
    7: 'request_options: streaming Predict options, not read',
  },
  'tensorflow.TensorProto': {
    14: 'resource_handle_val: DT_RESOURCE tensors are not carried',
    15: 'variant_val: DT_VARIANT tensors are not carried',
  },
  'tensorflow.MetaGraphDef': {
    1: 'meta_info_def: serving reads only signature_def',
    2: 'graph_def: serving reads only signature_def',
    3: 'saver_def: serving reads only signature_def',
    4: 'collection_def: serving reads only signature_def',
    6: 'asset_file_def: serving reads only signature_def',
    7: 'object_graph_def: serving reads only signature_def',
  },
  'tensorflow.TensorInfo.CompositeTensor': {
    1: 'type_spec: composite tensors are described by their components only',
  },
  'tensorflow.ConfigProto': {
    13: 'rpc_options: distributed runtime; duoserve runs local sessions',
    14: 'cluster_def: distributed runtime; duoserve runs local sessions',
  },
  'tensorflow.ConfigProto.Experimental': {
    23: 'coordination_config: multi-host coordination service, not used by a local session',
  },
  'tensorflow.GPUOptions': {
    9: 'experimental: GPU allocator and stream tuning; duoserve is a CPU server',
  },
  'tensorflow.RewriterConfig': {
    200: 'custom_optimizers: their parameters are AttrValues (not declared here)',
    300: 'inter_optimizer_verifier_config: debugging of Grappler itself',
    301: 'post_optimization_verifier_config: debugging of Grappler itself',
  },
  'tensorflow.serving.PredictionLog': {
    5: 'session_run_log: SessionService is not served',
    7: 'predict_streamed_log: streaming Predict is not served',
  },
  'tensorflow.serving.FileSystemStoragePathSourceConfig': {
    5: 'servables: only the nested ServableVersionPolicy is used; the source is configured in TypeScript',
    3: 'file_system_poll_wait_seconds: as above (the flag of that name is used)',
    4: 'fail_if_zero_versions_at_startup: as above',
    6: 'servable_versions_always_present: as above',
  },
};

/**
 * Messages the stock Python packages do not ship (tensorflow-serving-api has no servables/
 * protos, nor config/monitoring_config.proto or config/ssl_config.proto): written from
 * TF-Serving's own .proto files, and checked only for loading here.
 */
const NOT_IN_STOCK_PACKAGES: Record<string, string> = {
  'tensorflow.serving.SessionBundleConfig': 'servables/tensorflow/session_bundle_config.proto',
  'tensorflow.serving.ModelWarmupOptions': 'servables/tensorflow/session_bundle_config.proto',
  'tensorflow.serving.BatchingParameters': 'servables/tensorflow/session_bundle_config.proto',
  'tensorflow.serving.SavedModelBundleSourceAdapterConfig':
    'servables/tensorflow/saved_model_bundle_source_adapter.proto',
  'tensorflow.serving.MonitoringConfig': 'config/monitoring_config.proto',
  'tensorflow.serving.PrometheusConfig': 'config/monitoring_config.proto',
  'tensorflow.serving.SSLConfig': 'config/ssl_config.proto',
};

/** Enums of which proto/ declares only part; proto3 enums are open, so other numbers still decode. */
const ENUMS_WITH_OMITTED_VALUES: Record<string, string> = {
  'tensorflow.DataType': 'only the dtypes duoserve carries (no float8/int4 or *_REF values)',
  'tensorflow.error.Code': 'the reserved DO_NOT_USE_... sentinel is left out',
};

/** Official RPCs proto/ does not declare yet; grpc answers them UNIMPLEMENTED. */
const OMITTED_METHODS: Record<string, Record<string, string>> = {};

/** Our envelopes must be wire-identical to these official messages. */
const ENVELOPES: Record<string, string> = {
  'duoserve.envelope.PredictRequestEnvelope': 'tensorflow.serving.PredictRequest',
  'duoserve.envelope.PredictResponseEnvelope': 'tensorflow.serving.PredictResponse',
  'duoserve.envelope.SerializedExampleList': 'tensorflow.serving.ExampleList',
  'duoserve.envelope.SerializedExampleListWithContext': 'tensorflow.serving.ExampleListWithContext',
  'duoserve.envelope.SerializedInput': 'tensorflow.serving.Input',
  'duoserve.envelope.ClassificationRequestEnvelope': 'tensorflow.serving.ClassificationRequest',
  'duoserve.envelope.RegressionRequestEnvelope': 'tensorflow.serving.RegressionRequest',
  'duoserve.envelope.MultiInferenceRequestEnvelope': 'tensorflow.serving.MultiInferenceRequest',
};

const SERVICE_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
];

// The Open Inference Protocol's package is checked by inference_wire_compat.test.ts.
const ourDefinitions = (root: protobuf.Root) =>
  definitionsOf(
    root,
    (name) => !/^(google|duoserve|inference)\./.test(name) && NOT_IN_STOCK_PACKAGES[name] === undefined,
  );

const ours = ourDefinitions(protoRoot);
const services = ourDefinitions(loadServiceRoot()).services;

function loadServiceRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : path.join(PROTO_DIR, target);
  root.loadSync(SERVICE_FILES, { keepCase: true }).resolveAll();
  return root;
}

const base64 = (type: protobuf.Type, object: object) =>
  Buffer.from(type.encode(type.fromObject(object)).finish()).toString('base64');

const OUR_PREDICT_REQUEST = base64(Protos.PredictRequest, {
  model_spec: { name: 'm', version_label: 'stable', signature_name: 'sig' },
  inputs: {
    a: { dtype: 1, tensor_shape: { dim: [{ size: 2 }] }, float_val: [0.5, 3] },
    b: { dtype: 9, tensor_shape: { dim: [{ size: -1 }] }, int64_val: ['-9007199254740993'] },
    c: { dtype: 7, string_val: [Buffer.from('héllo')] },
    d: { dtype: 10, bool_val: [true, false], half_val: [15360] },
  },
  output_filter: ['y', 'z'],
});

const OUR_RELOAD_CONFIG_REQUEST = base64(Protos.ReloadConfigRequest, {
  config: {
    model_config_list: {
      config: [
        {
          name: 'm',
          base_path: '/models/m',
          model_platform: 'pytorch',
          model_version_policy: { specific: { versions: [1, '4294967296'] } },
          version_labels: { stable: 1 },
        },
      ],
    },
  },
});

/** tf.Examples encoded by protobufjs: a context, and an example overriding one of its features. */
const OUR_CONTEXT = base64(Protos.Example, {
  features: {
    feature: { n: { int64_list: { value: ['10'] } }, tag: { bytes_list: { value: [Buffer.from('shared')] } } },
  },
});
const OUR_EXAMPLE = base64(Protos.Example, {
  features: {
    feature: { x: { float_list: { value: [0.25, -1] } }, tag: { bytes_list: { value: [Buffer.from('own')] } } },
  },
});

const OUR_MULTI_INFERENCE_RESPONSE = base64(Protos.MultiInferenceResponse, {
  results: [
    {
      model_spec: { name: 'm', version: { value: 2 }, signature_name: 'serving_default' },
      classification_result: { classifications: [{ classes: [{ label: 'a', score: 0.5 }, { label: 'b' }] }] },
    },
    {
      model_spec: { name: 'm', version: { value: 2 }, signature_name: 'regress' },
      regression_result: { regressions: [{ value: 1.5 }] },
    },
  ],
});

/** What tensorflow-serving-api answered about tf.Example inputs. */
interface OfficialExampleAnswers {
  /** A ClassificationRequest with an ExampleListWithContext, and its parts serialized alone. */
  classify: { request: string; context: string; examples: string[] };
  /** OUR_CONTEXT merged with OUR_EXAMPLE by MergeFrom, and OUR_CONTEXT + OUR_EXAMPLE parsed as one. */
  merge: { merged: unknown; parsed: unknown };
  multiInference: unknown;
}

/** Everything this file asks Python, in one run (TensorFlow's import takes seconds). */
let officialAnswers:
  | {
      descriptors: OfficialDescriptors;
      predictRequest: Buffer;
      decoded: { predict: unknown; reload: unknown };
      examples: OfficialExampleAnswers;
    }
  | undefined;

function askOfficial() {
  if (officialAnswers === undefined) {
    const names = [
      ...ours.types.map((t) => strip(t.fullName)),
      ...ours.enums.map((e) => strip(e.fullName)),
      ...services.map((s) => strip(s.fullName)),
      ...Object.values(ENVELOPES),
      ...Object.keys(NOT_IN_STOCK_PACKAGES),
    ];
    const [descriptors, encoded, predict, reload, classify, merge, multiInference] = officialBatch([
      { command: 'describe', args: [...new Set(names)] },
      { command: 'encode-predict' },
      { command: 'decode', args: ['tensorflow.serving.PredictRequest', OUR_PREDICT_REQUEST] },
      { command: 'decode', args: ['tensorflow.serving.ReloadConfigRequest', OUR_RELOAD_CONFIG_REQUEST] },
      { command: 'encode-classify' },
      { command: 'merge-examples', args: [OUR_CONTEXT, OUR_EXAMPLE] },
      { command: 'decode', args: ['tensorflow.serving.MultiInferenceResponse', OUR_MULTI_INFERENCE_RESPONSE] },
    ]);
    officialAnswers = {
      descriptors,
      predictRequest: Buffer.from(encoded, 'base64'),
      decoded: { predict, reload },
      examples: { classify, merge, multiInference },
    };
  }
  return officialAnswers;
}

describe('proto/ matches the official descriptors', () => {
  let descriptors: OfficialDescriptors;

  before(() => {
    descriptors = askOfficial().descriptors;
  });

  test('the tree defines the messages, enums and services the server needs', () => {
    assert.ok(ours.types.length >= 20, `only ${ours.types.length} messages found`);
    assert.ok(ours.enums.length >= 4);
    assert.deepEqual(services.map((s) => strip(s.fullName)).sort(), [
      'tensorflow.serving.ModelService',
      'tensorflow.serving.PredictionService',
    ]);
  });

  test('every message and enum we define exists officially under the same full name', () => {
    // ... but those the stock packages do not ship, which must really be missing there.
    assert.deepEqual([...descriptors.missing].sort(), Object.keys(NOT_IN_STOCK_PACKAGES).sort());
  });

  test('every field we declare matches the official one exactly', () => {
    assert.deepEqual(messageProblems(ours.types, descriptors), []);
  });

  test('official fields we leave out are exactly the allow-listed ones', () => {
    const allowed = Object.fromEntries(
      Object.entries(OMITTED_FIELDS).map(([name, reasons]) => [name, Object.keys(reasons).map(Number)]),
    );
    assert.deepEqual(omittedFields(ours.types, descriptors), allowed);
  });

  test('every enum value we declare has its official number', () => {
    const problems: string[] = [];
    for (const enumType of ours.enums) {
      const name = strip(enumType.fullName);
      const theirs = descriptors.enums[name].values;
      for (const [valueName, number] of Object.entries(enumType.values)) {
        if (theirs[valueName] !== number)
          problems.push(`${name}.${valueName} = ${number}, official ${theirs[valueName]}`);
      }
      const missing = Object.keys(theirs).filter((valueName) => enumType.values[valueName] === undefined);
      if (missing.length > 0 && ENUMS_WITH_OMITTED_VALUES[name] === undefined) {
        problems.push(`${name} leaves out ${missing.join(', ')} without a listed reason`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('every RPC we declare has the official request and response types', () => {
    const problems = services.flatMap((service) => {
      const name = strip(service.fullName);
      const { problems, missing } = methodProblems(service, descriptors);
      assert.deepEqual(missing.sort(), Object.keys(OMITTED_METHODS[name] ?? {}).sort(), `${name} RPCs left out`);
      return problems;
    });
    assert.deepEqual(problems, []);
  });

  test('the envelopes are wire-identical to the official messages they stand for', () => {
    const problems = Object.entries(ENVELOPES).flatMap(([envelopeName, officialName]) => {
      const envelope = protoRoot.lookupType(envelopeName);
      const theirs = new Map(descriptors.messages[officialName].fields.map((f) => [f.number, f]));
      const left = [...theirs.keys()].filter((n) => !envelope.fieldsById[n] && !OMITTED_FIELDS[officialName]?.[n]);
      return [
        ...left.map((number) => `${envelopeName} leaves out ${officialName} field ${number}`),
        ...envelope.fieldsArray.flatMap((field) => {
          const official = theirs.get(field.id);
          if (official === undefined) return [`${envelopeName}.${field.name}: not in ${officialName}`];
          return fieldProblems(envelopeName, field, official, ENVELOPES);
        }),
      ];
    });
    assert.deepEqual(problems, []);
  });
});

describe('bytes travel between the stock Python classes and protobufjs', () => {
  const toObject = (type: protobuf.Type, bytes: Uint8Array) =>
    type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: String, oneofs: true });
  let theirPredictRequest: Buffer;
  let theirDecodings: { predict: unknown; reload: unknown };

  before(() => {
    ({ predictRequest: theirPredictRequest, decoded: theirDecodings } = askOfficial());
  });

  test('a PredictRequest encoded by tensorflow-serving-api decodes with proto/', () => {
    const request = toObject(Protos.PredictRequest, theirPredictRequest);
    assert.deepEqual(request.model_spec, {
      name: 'half_plus_two',
      version: { value: '3' },
      signature_name: 'serving_default',
      version_choice: 'version',
    });
    assert.deepEqual(request.output_filter, ['y']);
    assert.deepEqual(request.inputs.x, {
      dtype: 'DT_FLOAT',
      tensor_shape: { dim: [{ size: '2' }, { size: '1' }] },
      float_val: [1.5, -2],
    });
    assert.deepEqual(request.inputs.s.string_val, [
      Buffer.from('a').toString('base64'),
      Buffer.from([0xff, 0]).toString('base64'),
    ]);
    assert.deepEqual(request.inputs.i.int64_val, [String(2 ** 40 + 1)]);
    assert.equal(request.inputs.c.tensor_content, Buffer.from([7, 0, 0, 0, 255, 255, 255, 255]).toString('base64'));
  });

  test('the request envelope carries each input as its TensorProto bytes, and re-encodes to the same bytes', () => {
    const full = Protos.PredictRequest.decode(theirPredictRequest) as unknown as {
      inputs: Record<string, protobuf.Message>;
    };
    const envelope = Protos.PredictRequestEnvelope.decode(theirPredictRequest) as unknown as {
      inputs: Record<string, Uint8Array>;
    };
    assert.deepEqual(Object.keys(envelope.inputs).sort(), ['c', 'i', 's', 'x']);
    for (const [name, tensorBytes] of Object.entries(envelope.inputs)) {
      assert.deepEqual(
        Protos.TensorProto.toObject(Protos.TensorProto.decode(tensorBytes), { longs: String }),
        Protos.TensorProto.toObject(full.inputs[name], { longs: String }),
      );
    }
    // Re-encoding the envelope gives back the stock encoder's exact bytes: nothing was lost.
    const reencoded = Protos.PredictRequestEnvelope.encode(envelope).finish();
    assert.ok(Buffer.from(reencoded).equals(theirPredictRequest));
  });

  test('a PredictRequest encoded by protobufjs decodes with tensorflow-serving-api', () => {
    assert.deepEqual(theirDecodings.predict, {
      model_spec: { name: 'm', version_label: 'stable', signature_name: 'sig' },
      inputs: {
        a: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '2' }] }, float_val: [0.5, 3] },
        b: { dtype: 'DT_INT64', tensor_shape: { dim: [{ size: '-1' }] }, int64_val: ['-9007199254740993'] },
        c: { dtype: 'DT_STRING', string_val: [Buffer.from('héllo').toString('base64')] },
        d: { dtype: 'DT_BOOL', bool_val: [true, false], half_val: [15360] },
      },
      output_filter: ['y', 'z'],
    });
  });

  test('a ReloadConfigRequest encoded by protobufjs decodes with tensorflow-serving-api', () => {
    assert.deepEqual(theirDecodings.reload, {
      config: {
        model_config_list: {
          config: [
            {
              name: 'm',
              base_path: '/models/m',
              model_platform: 'pytorch',
              model_version_policy: { specific: { versions: ['1', '4294967296'] } },
              version_labels: { stable: '1' },
            },
          ],
        },
      },
    });
  });
});

describe('tf.Example inputs travel as the official classes write them', () => {
  let answers: OfficialExampleAnswers;

  before(() => {
    answers = askOfficial().examples;
  });

  test('the request envelope hands over each Example as the bytes the stock encoder wrote for it', () => {
    const request = Buffer.from(answers.classify.request, 'base64');
    const envelope = Protos.ClassificationRequestEnvelope.decode(request) as unknown as {
      model_spec: { name: string };
      input: { example_list_with_context: { examples: Uint8Array[]; context: Uint8Array } };
    };
    assert.equal(envelope.model_spec.name, 'iris');
    const { examples, context } = envelope.input.example_list_with_context;
    assert.deepEqual(
      examples.map((bytes) => Buffer.from(bytes).toString('base64')),
      answers.classify.examples,
    );
    assert.equal(Buffer.from(context).toString('base64'), answers.classify.context);
    const reencoded = Protos.ClassificationRequestEnvelope.encode(envelope).finish();
    assert.ok(Buffer.from(reencoded).equals(request));
  });

  test('context bytes followed by example bytes parse as the context merged with the example', () => {
    assert.deepEqual(answers.merge.parsed, answers.merge.merged);
    // The example's own "tag" wins over the context's; the context's "n" stays.
    assert.deepEqual(Object.keys((answers.merge.merged as { features: { feature: object } }).features.feature).sort(), [
      'n',
      'tag',
      'x',
    ]);
  });

  test('a MultiInferenceResponse encoded by protobufjs decodes with tensorflow-serving-api', () => {
    // (MessageToDict prints an Int64Value as its value, a string.)
    assert.deepEqual(answers.multiInference, {
      results: [
        {
          model_spec: { name: 'm', version: '2', signature_name: 'serving_default' },
          classification_result: { classifications: [{ classes: [{ label: 'a', score: 0.5 }, { label: 'b' }] }] },
        },
        {
          model_spec: { name: 'm', version: '2', signature_name: 'regress' },
          regression_result: { regressions: [{ value: 1.5 }] },
        },
      ],
    });
  });
});
