/**
 * ModelServerConfig (--model_config_file, HandleReloadConfigRequest) as a checked TypeScript
 * structure, with the checks and defaults of TF-Serving's ServerCore:
 * - model names unique (and, here, non-empty);
 * - base_path an absolute path or a URI; a relative one is refused, as TF-Serving refuses it
 *   ("Expected model X to have an absolute path or URI");
 * - the platform from model_platform, or "tensorflow" from the deprecated model_type TENSORFLOW;
 *   neither, or both, is an error;
 * - no version policy, or latest with num_versions 0, means the one latest version;
 * - custom_model_config is refused; an empty config serves nothing;
 * - logging_config read into a RequestLoggingConfig (its collector is checked when the config
 *   is applied: src/request_logging/server_request_logger.ts).
 */
import type * as protobuf from 'protobufjs';
import type { ServableVersionPolicy } from '../core/servable_version_policy';
import { Protos } from '../protos';
import type { RequestLoggingConfig } from '../request_logging/request_logger';
import { ConfigError } from './config_error';
import type { ServerFlags } from './flags';
import { parseTextProtoFile } from './text_proto_file';

export interface ModelConfig {
  readonly name: string;
  /** An absolute path or a URI. */
  readonly basePath: string;
  /** The platform config map key ('tensorflow', 'pytorch', ...); undefined: detect it from the version directory. */
  readonly platform: string | undefined;
  readonly versionPolicy: ServableVersionPolicy;
  /** version_labels: label -> version. */
  readonly versionLabels: ReadonlyMap<string, number>;
  /** logging_config; absent: the model's requests are not logged. */
  readonly logging?: RequestLoggingConfig;
}

export interface ModelServerConfig {
  readonly models: readonly ModelConfig[];
}

const TENSORFLOW_PLATFORM = 'tensorflow';

/** Parses and checks a text-format ModelServerConfig (the --model_config_file contents). */
export function parseModelServerConfigText(text: string, fileName: string): ModelServerConfig {
  return modelServerConfigFromMessage(parseTextProtoFile(Protos.ModelServerConfig, text, fileName), fileName);
}

/**
 * Checks a decoded tensorflow.serving.ModelServerConfig (from a text file or a
 * ReloadConfigRequest). `source` prefixes error messages, e.g. the file name.
 */
export function modelServerConfigFromMessage(message: protobuf.Message, source?: string): ModelServerConfig {
  const fail = (text: string) => new ConfigError(source === undefined ? text : `${source}: ${text}`);
  const config = Protos.ModelServerConfig.toObject(message, { longs: String, enums: String, oneofs: true });
  if (config.config === 'custom_model_config') throw fail('custom_model_config is not supported');
  const list: Array<Record<string, any>> = config.model_config_list?.config ?? [];

  const names = new Set<string>();
  const models = list.map((model, index): ModelConfig => {
    const name: string = model.name ?? '';
    if (name === '') throw fail(`model #${index + 1} in model_config_list has no name`);
    if (names.has(name)) throw fail(`Illegal to list model ${name} multiple times in config list`);
    names.add(name);
    const basePath: string = model.base_path ?? '';
    if (!isAbsolutePathOrUri(basePath)) {
      throw fail(`Expected model ${name} to have an absolute path or URI; got base_path()=${basePath}`);
    }
    return {
      name,
      basePath,
      platform: platformOf(model, name, fail),
      versionPolicy: versionPolicyOf(model.model_version_policy, name, fail),
      versionLabels: versionLabelsOf(model.version_labels ?? {}, name, fail),
      ...(model.logging_config ? { logging: loggingConfigOf(model.logging_config) } : {}),
    };
  });
  return { models };
}

/**
 * The one model of --model_name and --model_base_path. Its platform is left to be detected from
 * the version directory (TF-Serving always says "tensorflow" here).
 */
export function singleModelConfig(flags: Pick<ServerFlags, 'modelName' | 'modelBasePath'>): ModelServerConfig {
  if (!isAbsolutePathOrUri(flags.modelBasePath)) {
    throw new ConfigError(
      `Expected model ${flags.modelName} to have an absolute path or URI; got base_path()=${flags.modelBasePath}`,
    );
  }
  if (flags.modelName === '') throw new ConfigError('--model_name is empty');
  return {
    models: [
      {
        name: flags.modelName,
        basePath: flags.modelBasePath,
        platform: undefined,
        versionPolicy: { kind: 'latest', numVersions: 1 },
        versionLabels: new Map(),
      },
    ],
  };
}

/** TF-Serving's UriIsRelativePath, negated: a "scheme://" URI, or a path starting with '/'. */
export function isAbsolutePathOrUri(basePath: string): boolean {
  return /^[A-Za-z][A-Za-z0-9.]*:\/\//.test(basePath) || basePath.startsWith('/');
}

type Fail = (text: string) => ConfigError;

/**
 * A LoggingConfig as RequestLogger uses it. Of per_task_sampling_configs the first entry that
 * matches every task (no dc, no task_index) sets the rate, as TF-Serving's RequestLogger picks
 * the first entry matching its task; duoserve has no datacenter or task index, so entries that
 * name one match nothing.
 */
function loggingConfigOf(config: Record<string, any>): RequestLoggingConfig {
  const sampling: Record<string, any> = config.sampling_config ?? {};
  const perTask: Array<Record<string, any>> = sampling.per_task_sampling_configs ?? [];
  const everyTask = perTask.find((entry) => !entry.dc && entry.task_index === undefined);
  const key = Buffer.from(Protos.LoggingConfig.encode(Protos.LoggingConfig.fromObject(config)).finish());
  return {
    collector: {
      type: config.log_collector_config?.type ?? '',
      filenamePrefix: config.log_collector_config?.filename_prefix ?? '',
    },
    samplingConfig: { ...sampling, sampling_rate: everyTask?.sampling_rate ?? sampling.sampling_rate ?? 0 },
    key: key.toString('base64'),
  };
}

function platformOf(model: Record<string, any>, name: string, fail: Fail): string {
  const platform: string = model.model_platform ?? '';
  const modelType: string = model.model_type ?? 'MODEL_TYPE_UNSPECIFIED';
  if (modelType !== 'MODEL_TYPE_UNSPECIFIED') {
    if (platform !== '') throw fail(`model ${name}: illegal to set both model_type (deprecated) and model_platform`);
    if (modelType !== 'TENSORFLOW') throw fail(`model ${name}: model_type ${modelType} is not supported`);
    return TENSORFLOW_PLATFORM;
  }
  if (platform === '') throw fail(`model ${name}: neither model_platform nor model_type (deprecated) is set`);
  return platform;
}

function versionPolicyOf(policy: Record<string, any> | undefined, name: string, fail: Fail): ServableVersionPolicy {
  switch (policy?.policy_choice) {
    case undefined:
      return { kind: 'latest', numVersions: 1 };
    case 'latest':
      return { kind: 'latest', numVersions: Math.max(policy.latest.num_versions ?? 0, 1) };
    case 'all':
      return { kind: 'all' };
    case 'specific': {
      const versions: string[] = policy.specific.versions ?? [];
      return { kind: 'specific', versions: [...new Set(versions.map((v) => versionNumber(v, name, fail)))] };
    }
    default:
      throw fail(`model ${name}: unknown model_version_policy ${policy?.policy_choice}`);
  }
}

function versionLabelsOf(labels: Record<string, string>, name: string, fail: Fail): Map<string, number> {
  return new Map(Object.entries(labels).map(([label, version]) => [label, versionNumber(version, name, fail)]));
}

/** int64 versions as JavaScript numbers: exact up to 2^53, which real version numbers stay below. */
function versionNumber(decimal: string, name: string, fail: Fail): number {
  const value = Number(decimal);
  if (!Number.isSafeInteger(value)) {
    throw fail(`model ${name}: version ${decimal} is beyond 2^53, which duoserve does not serve`);
  }
  return value;
}
