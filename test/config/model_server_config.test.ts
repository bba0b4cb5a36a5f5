import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/config_error';
import {
  isAbsolutePathOrUri,
  modelServerConfigFromMessage,
  parseModelServerConfigText,
  singleModelConfig,
} from '../../src/config/model_server_config';
import { Protos } from '../../src/protos';

const parse = (text: string) => parseModelServerConfigText(text, 'models.config');

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail('no ConfigError');
}

const model = (fields: string) => `model_config_list { config { ${fields} } }`;

describe('parseModelServerConfigText', () => {
  test('the TF-Serving documentation example', () => {
    const config = parse(`
      model_config_list {
        config {
          name: 'my_first_model'
          base_path: '/tmp/my_first_model/'
          model_platform: 'tensorflow'
        }
        config {
          name: 'my_second_model'
          base_path: '/tmp/my_second_model/'
          model_platform: 'pytorch'
          model_version_policy { specific { versions: 42 versions: 43 } }
          version_labels { key: 'stable' value: 42 }
          version_labels { key: 'canary' value: 43 }
        }
      }`);
    assert.deepEqual(config, {
      models: [
        {
          name: 'my_first_model',
          basePath: '/tmp/my_first_model/',
          platform: 'tensorflow',
          versionPolicy: { kind: 'latest', numVersions: 1 },
          versionLabels: new Map(),
        },
        {
          name: 'my_second_model',
          basePath: '/tmp/my_second_model/',
          platform: 'pytorch',
          versionPolicy: { kind: 'specific', versions: [42, 43] },
          versionLabels: new Map([
            ['stable', 42],
            ['canary', 43],
          ]),
        },
      ],
    });
  });

  test('an empty config, or an empty model list, serves nothing', () => {
    assert.deepEqual(parse(''), { models: [] });
    assert.deepEqual(parse('model_config_list {}'), { models: [] });
  });

  test('version policies; latest defaults to (and never goes below) one version', () => {
    const policy = (text: string) =>
      parse(model(`name: "m" base_path: "/m" model_platform: "tensorflow" ${text}`)).models[0].versionPolicy;
    assert.deepEqual(policy(''), { kind: 'latest', numVersions: 1 });
    assert.deepEqual(policy('model_version_policy {}'), { kind: 'latest', numVersions: 1 });
    assert.deepEqual(policy('model_version_policy { latest {} }'), { kind: 'latest', numVersions: 1 });
    assert.deepEqual(policy('model_version_policy { latest { num_versions: 3 } }'), { kind: 'latest', numVersions: 3 });
    assert.deepEqual(policy('model_version_policy { all {} }'), { kind: 'all' });
    assert.deepEqual(policy('model_version_policy { specific {} }'), { kind: 'specific', versions: [] });
    assert.deepEqual(policy('model_version_policy { specific { versions: [3, 1, 3] } }'), {
      kind: 'specific',
      versions: [3, 1],
    });
  });

  test('the platform: model_platform, or TENSORFLOW from the deprecated model_type', () => {
    const platform = (text: string) => parse(model(`name: "m" base_path: "/m" ${text}`)).models[0].platform;
    assert.equal(platform('model_platform: "pytorch"'), 'pytorch');
    assert.equal(platform('model_type: TENSORFLOW'), 'tensorflow');
    assert.equal(platform('model_type: MODEL_TYPE_UNSPECIFIED model_platform: "tensorflow"'), 'tensorflow');
    assert.equal(
      configError(() => platform('')),
      'models.config: model m: neither model_platform nor model_type (deprecated) is set',
    );
    assert.equal(
      configError(() => platform('model_type: TENSORFLOW model_platform: "tensorflow"')),
      'models.config: model m: illegal to set both model_type (deprecated) and model_platform',
    );
    assert.equal(
      configError(() => platform('model_type: OTHER')),
      'models.config: model m: model_type OTHER is not supported',
    );
  });

  test('model names are unique and non-empty', () => {
    const twice = `model_config_list {
      config { name: "a" base_path: "/a" model_platform: "tensorflow" }
      config { name: "a" base_path: "/b" model_platform: "tensorflow" }
    }`;
    assert.equal(
      configError(() => parse(twice)),
      'models.config: Illegal to list model a multiple times in config list',
    );
    assert.equal(
      configError(() => parse(model('base_path: "/a" model_platform: "tensorflow"'))),
      'models.config: model #1 in model_config_list has no name',
    );
  });

  test('base_path must be absolute or a URI, as TF-Serving requires', () => {
    const basePath = (path: string) =>
      parse(model(`name: "m" base_path: "${path}" model_platform: "tensorflow"`)).models[0].basePath;
    assert.equal(basePath('/models/m'), '/models/m');
    assert.equal(basePath('gs://bucket/m'), 'gs://bucket/m');
    assert.equal(basePath('file:///models/m'), 'file:///models/m');
    for (const relative of ['models/m', './m', '', 'C:/models/m']) {
      assert.equal(
        configError(() => basePath(relative)),
        `models.config: Expected model m to have an absolute path or URI; got base_path()=${relative}`,
      );
    }
  });

  test('version labels; versions beyond 2^53 are refused', () => {
    const labels = parse(
      model(
        'name: "m" base_path: "/m" model_platform: "tensorflow" version_labels [{ key: "a" value: 9007199254740991 }, { key: "b" }]',
      ),
    ).models[0].versionLabels;
    assert.deepEqual(
      [...labels],
      [
        ['a', 9007199254740991],
        ['b', 0],
      ],
    );
    assert.equal(
      configError(() =>
        parse(
          model(
            'name: "m" base_path: "/m" model_platform: "tensorflow" version_labels { key: "a" value: 9007199254740993 }',
          ),
        ),
      ),
      'models.config: model m: version 9007199254740993 is beyond 2^53, which duoserve does not serve',
    );
  });

  test('custom_model_config is refused, as TF-Serving refuses it', () => {
    assert.equal(
      configError(() => parse('custom_model_config { type_url: "type.googleapis.com/x.Y" }')),
      'models.config: custom_model_config is not supported',
    );
  });

  test('logging_config: the collector, and the rate of the first per-task entry that matches every task', () => {
    const logged = (logging: string) =>
      parse(model(`name: "m" base_path: "/m" model_platform: "tensorflow" logging_config { ${logging} }`)).models[0]
        .logging!;
    const collector = 'log_collector_config { type: "tfrecord" filename_prefix: "/logs/m" }';
    const plain = logged(`${collector} sampling_config { sampling_rate: 0.5 }`);
    assert.deepEqual(plain.collector, { type: 'tfrecord', filenamePrefix: '/logs/m' });
    assert.equal(plain.samplingConfig.sampling_rate, 0.5);
    const perTask = logged(
      `${collector} sampling_config { sampling_rate: 0.5 per_task_sampling_configs { dc: "aa" sampling_rate: 0.1 } ` +
        'per_task_sampling_configs { task_index: 0 sampling_rate: 0.2 } per_task_sampling_configs { sampling_rate: 1 } }',
    );
    assert.equal(perTask.samplingConfig.sampling_rate, 1);
    assert.equal(logged(collector).samplingConfig.sampling_rate, 0);
    assert.equal(logged(`${collector} sampling_config { sampling_rate: 0.5 }`).key, plain.key);
    assert.notEqual(perTask.key, plain.key);
    assert.equal(parse(model('name: "m" base_path: "/m" model_platform: "tensorflow"')).models[0].logging, undefined);
  });

  test("syntax errors in TF-Serving's words, then the line and column", () => {
    assert.equal(
      configError(() => parse('model_config_list {\n  config {\n    nmae: "m"\n  }\n}')),
      "Invalid protobuf file: 'models.config': Error parsing text-format tensorflow.serving.ModelServerConfig: " +
        "3:5: unknown field 'nmae' in tensorflow.serving.ModelConfig",
    );
  });
});

describe('modelServerConfigFromMessage', () => {
  test('checks a decoded ReloadConfigRequest config the same way', () => {
    const request = Protos.ReloadConfigRequest.decode(
      Protos.ReloadConfigRequest.encode(
        Protos.ReloadConfigRequest.fromObject({
          config: { model_config_list: { config: [{ name: 'm', base_path: '/m', model_type: 1 }] } },
        }),
      ).finish(),
    ) as unknown as { config: Parameters<typeof modelServerConfigFromMessage>[0] };
    assert.deepEqual(modelServerConfigFromMessage(request.config), {
      models: [
        {
          name: 'm',
          basePath: '/m',
          platform: 'tensorflow',
          versionPolicy: { kind: 'latest', numVersions: 1 },
          versionLabels: new Map(),
        },
      ],
    });
    const relative = Protos.ModelServerConfig.fromObject({
      model_config_list: { config: [{ name: 'm', base_path: 'm', model_platform: 'tensorflow' }] },
    });
    assert.equal(
      configError(() => modelServerConfigFromMessage(relative)),
      'Expected model m to have an absolute path or URI; got base_path()=m',
    );
  });
});

describe('singleModelConfig', () => {
  test('one model, latest version, platform left to detection', () => {
    assert.deepEqual(singleModelConfig({ modelName: 'default', modelBasePath: '/models/half_plus_two' }), {
      models: [
        {
          name: 'default',
          basePath: '/models/half_plus_two',
          platform: undefined,
          versionPolicy: { kind: 'latest', numVersions: 1 },
          versionLabels: new Map(),
        },
      ],
    });
  });

  test('a relative or empty --model_base_path, or an empty --model_name, is refused', () => {
    assert.equal(
      configError(() => singleModelConfig({ modelName: 'm', modelBasePath: './models/m' })),
      'Expected model m to have an absolute path or URI; got base_path()=./models/m',
    );
    assert.match(
      configError(() => singleModelConfig({ modelName: 'm', modelBasePath: '' })),
      /got base_path\(\)=$/,
    );
    assert.equal(
      configError(() => singleModelConfig({ modelName: '', modelBasePath: '/m' })),
      '--model_name is empty',
    );
  });
});

test('isAbsolutePathOrUri follows TF-Serving: scheme:// or a leading slash', () => {
  assert.equal(isAbsolutePathOrUri('/a'), true);
  assert.equal(isAbsolutePathOrUri('s3://bucket/a'), true);
  assert.equal(isAbsolutePathOrUri('hdfs.x://host/a'), true);
  assert.equal(isAbsolutePathOrUri('a/b'), false);
  assert.equal(isAbsolutePathOrUri('1s://a'), false);
  assert.equal(isAbsolutePathOrUri('s3:/a'), false);
});
