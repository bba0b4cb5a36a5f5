/**
 * Models as a TypeScript caller lists them (the duoserve package's ModelHost, the client's
 * HandleReloadConfigRequest), turned into the ModelServerConfig message and checked as a
 * --model_config_file is: one set of rules for every way a config arrives.
 */
import type { ServableVersionPolicy } from '../core/servable_version_policy';
import { Protos } from '../protos';
import { modelServerConfigFromMessage, type ModelServerConfig } from './model_server_config';

export interface ModelEntry {
  name: string;
  /** An absolute path (or a URI): the directory holding the numbered version directories. */
  basePath: string;
  /** 'tensorflow', 'pytorch' or 'chain'; absent: the platform whose files the latest version holds. */
  platform?: string;
  /** Absent: the latest version. */
  versionPolicy?: ServableVersionPolicy;
  /** version_labels: label -> version. */
  versionLabels?: Readonly<Record<string, number>>;
}

/** tensorflow.serving.ModelServerConfig in protobufjs' object form (for fromObject). */
export function modelServerConfigObject(entries: readonly ModelEntry[]): object {
  return {
    model_config_list: {
      config: entries.map((entry) => ({
        name: entry.name,
        base_path: entry.basePath,
        model_platform: entry.platform ?? '',
        ...(entry.versionPolicy ? { model_version_policy: versionPolicyObject(entry.versionPolicy) } : {}),
        version_labels: { ...entry.versionLabels },
      })),
    },
  };
}

/** The checked config; an entry without a platform keeps it undefined (detected at load). */
export function modelServerConfigOf(entries: readonly ModelEntry[]): ModelServerConfig {
  // The message requires a platform: a stand-in passes its check, and is taken back after.
  const named = entries.map((entry) => ({ ...entry, platform: entry.platform ?? 'tensorflow' }));
  const config = modelServerConfigFromMessage(Protos.ModelServerConfig.fromObject(modelServerConfigObject(named)));
  return {
    models: config.models.map((model, index) => ({ ...model, platform: entries[index].platform })),
  };
}

function versionPolicyObject(policy: ServableVersionPolicy): object {
  switch (policy.kind) {
    case 'latest':
      return { latest: { num_versions: policy.numVersions ?? 1 } };
    case 'all':
      return { all: {} };
    case 'specific':
      return { specific: { versions: [...policy.versions] } };
  }
}
