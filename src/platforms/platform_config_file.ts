/**
 * --platform_config_file: a text-format PlatformConfigMap that replaces the default platform map,
 * as in TF-Serving, where it also replaces every setting that the command line would have put in
 * the "tensorflow" platform's SessionBundleConfig (the --tensorflow_* thread and session config
 * flags, --saved_model_tags, --mixed_precision, --remove_unused_fields_from_bundle_metagraph,
 * the TFLite flags, and for that platform --enable_model_warmup and
 * --num_request_iterations_for_warmup).
 *
 * Only the platforms the map names serve models; a model of another platform is refused as
 * unsupported. Keys:
 * - "tensorflow": its source_adapter_config must be a SavedModelBundleSourceAdapterConfig. Of its
 *   legacy_config (a SessionBundleConfig), duoserve honours session_config, saved_model_tags
 *   (empty: "serve"), enable_model_warmup (default false, as in the proto),
 *   model_warmup_options.num_request_iterations, mixed_precision ("bfloat16"),
 *   remove_unused_fields_from_bundle_metagraph, prefer_tflite_model and num_tflite_pools
 *   (num_tflite_interpreters when 0), batching_parameters and enable_per_model_batching_params (as
 *   --enable_batching's file and --enable_per_model_batching_parameters). session_target (a
 *   remote session) is refused; any other field that is set is named in one warning and ignored.
 * - "pytorch" and "chain": no source adapter config exists for them; an entry without one
 *   enables the platform with the command line's settings (warmup flags included).
 */
import { batchingParametersFromMessage } from '../batching/batching_parameters';
import type { BatchingSettings } from '../batching/batching_platform';
import type { PlainMessage } from '../config/text_format';
import type * as protobuf from 'protobufjs';
import { readTextProtoFile } from '../config/text_proto_file';
import { invalidArgument } from '../errors/serving_error';
import { Protos } from '../protos';
import type { PlatformOptions, PlatformWarmup } from './platform';
import { mixedPrecisionWarning, withMixedPrecision } from './tensorflow/session_config';

/** What the file says of each platform it names. */
export interface PlatformConfigs {
  /** The platforms the map names, in its order. */
  names: string[];
  /**
   * The "tensorflow" platform's settings, when it is named; `batching` when its legacy_config sets
   * batching_parameters (the composition root starts its scheduler into options.batching).
   */
  tensorflow?: { options: PlatformOptions; warmup: PlatformWarmup; batching?: BatchingSettings };
  /** One line per platform whose config sets fields duoserve ignores. */
  warnings: string[];
}

const TENSORFLOW_ADAPTER_CONFIG = 'tensorflow.serving.SavedModelBundleSourceAdapterConfig';
const PLATFORMS_WITHOUT_CONFIG = ['pytorch', 'chain'];
const HONOURED_LEGACY_FIELDS = new Set([
  'session_config',
  'saved_model_tags',
  'enable_model_warmup',
  'model_warmup_options',
  'mixed_precision',
  'remove_unused_fields_from_bundle_metagraph',
  'prefer_tflite_model',
  'num_tflite_pools',
  'num_tflite_interpreters',
  'batching_parameters',
  'enable_per_model_batching_params',
]);

export function readPlatformConfigFile(file: string): PlatformConfigs {
  const map = Protos.PlatformConfigMap.toObject(readTextProtoFile(Protos.PlatformConfigMap, file));
  const entries = Object.entries((map.platform_configs ?? {}) as Record<string, PlainMessage>);
  const result: PlatformConfigs = { names: entries.map(([name]) => name), warnings: [] };
  for (const [name, config] of entries) {
    const adapterConfig = config.source_adapter_config as { type_url?: string; value?: Uint8Array } | undefined;
    const typeName = adapterConfig?.type_url?.slice(adapterConfig.type_url.lastIndexOf('/') + 1);
    if (name === 'tensorflow') {
      if (typeName !== TENSORFLOW_ADAPTER_CONFIG) {
        throw invalidArgument(
          `--platform_config_file: platform tensorflow needs a ${TENSORFLOW_ADAPTER_CONFIG} as its ` +
            `source_adapter_config, got ${typeName ? `a ${typeName}` : 'none'}`,
        );
      }
      result.tensorflow = tensorFlowSettings(adapterConfig!.value ?? new Uint8Array(), result.warnings);
    } else if (PLATFORMS_WITHOUT_CONFIG.includes(name)) {
      if (typeName !== undefined) {
        throw invalidArgument(
          `--platform_config_file: platform ${name} takes no source_adapter_config (got a ${typeName}); leave it out`,
        );
      }
    } else {
      const served = ['tensorflow', ...PLATFORMS_WITHOUT_CONFIG].join(', ');
      throw invalidArgument(`--platform_config_file: duoserve has no platform ${name} (it serves ${served})`);
    }
  }
  return result;
}

function tensorFlowSettings(bytes: Uint8Array, warnings: string[]): NonNullable<PlatformConfigs['tensorflow']> {
  const type = Protos.SavedModelBundleSourceAdapterConfig;
  const decoded = type.decode(bytes) as protobuf.Message & {
    legacy_config?: { batching_parameters?: protobuf.Message };
  };
  const adapterConfig = type.toObject(decoded, { longs: String });
  const legacy = (adapterConfig.legacy_config ?? {}) as PlainMessage;
  if (legacy.session_target) {
    throw invalidArgument('--platform_config_file: session_target is not supported: duoserve runs local sessions only');
  }
  const mixedPrecision = (legacy.mixed_precision ?? '') as string;
  const precisionWarning = mixedPrecisionWarning(mixedPrecision);
  if (precisionWarning !== undefined) warnings.push(`--platform_config_file: ${precisionWarning}`);
  const warmupOptions = (legacy.model_warmup_options ?? {}) as PlainMessage;
  const iterations = (warmupOptions.num_request_iterations as { value?: number } | undefined)?.value;
  const ignored = [
    ...Object.keys(legacy).filter((field) => !HONOURED_LEGACY_FIELDS.has(field)),
    ...Object.keys(warmupOptions)
      .filter((field) => field !== 'num_request_iterations')
      .map((field) => `model_warmup_options.${field}`),
  ];
  if (ignored.length > 0) {
    warnings.push(
      `--platform_config_file: tensorflow legacy_config fields ${ignored.join(', ')} are not supported by duoserve ` +
        'and are ignored',
    );
  }
  // Both set: the command line's warmup flags do not reach this platform.
  const warmup: PlatformWarmup = {
    enableModelWarmup: legacy.enable_model_warmup === true,
    numRequestIterations: iterations ?? 0,
  };
  return {
    options: {
      savedModelTags: (legacy.saved_model_tags ?? []) as string[],
      sessionConfig: withMixedPrecision((legacy.session_config ?? {}) as PlainMessage, mixedPrecision),
      removeUnusedFieldsFromBundleMetagraph: legacy.remove_unused_fields_from_bundle_metagraph === true,
      preferTfLiteModel: legacy.prefer_tflite_model === true,
      // As SavedModelBundleFactory: the deprecated num_tflite_interpreters stands in for 0; at least one.
      numTfLitePools: Math.max(1, ((legacy.num_tflite_pools || legacy.num_tflite_interpreters) ?? 0) as number),
    },
    warmup,
    ...legacyBatching(decoded.legacy_config?.batching_parameters, legacy),
  };
}

/** As SavedModelBundleFactory: batching when batching_parameters is set, per model if asked. */
function legacyBatching(
  parameters: protobuf.Message | undefined,
  legacy: PlainMessage,
): { batching?: BatchingSettings } {
  if (!parameters) return {};
  return {
    batching: {
      parameters: batchingParametersFromMessage(parameters),
      perModel: legacy.enable_per_model_batching_params === true,
    },
  };
}
