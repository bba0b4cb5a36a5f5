/**
 * The platform config map: `model_platform` -> Platform. The one place a framework is
 * registered; the lifecycle core never sees these names.
 */
import { withBatching } from '../batching/batching_platform';
import type { Manager } from '../core/manager';
import { chainPlatform } from './chain/chain_platform';
import type { Platform, PlatformOptions } from './platform';
import type { PlatformConfigs } from './platform_config_file';
import { pyTorchPlatform } from './pytorch/pytorch_platform';
import { tensorFlowPlatform } from './tensorflow/tensorflow_platform';
import { preferTfLite } from './tflite/tflite_platform';

/**
 * `manager` serves the models that chains run (the "chain" platform looks them up in it);
 * without one the map has no chain platform. `configs` (from --platform_config_file) replaces
 * the default map: only the platforms it names, "tensorflow" with its own options (batching
 * included), whose xlaCpuCompilationEnabled still comes from `options` (a command-line flag
 * either way). Model platforms are batched as their options say; a chain is not (its steps
 * join their models' queues).
 */
export function platformRegistry(
  options: PlatformOptions,
  manager?: Manager,
  configs?: PlatformConfigs,
): ReadonlyMap<string, Platform> {
  const fromConfig = configs?.tensorflow;
  const tensorflow = fromConfig
    ? { ...fromConfig.options, xlaCpuCompilationEnabled: options.xlaCpuCompilationEnabled }
    : options;
  const platforms = [
    withBatching(preferTfLite(tensorFlowPlatform(tensorflow, fromConfig?.warmup), tensorflow), tensorflow.batching),
    withBatching(pyTorchPlatform(options.torchThreads), options.batching),
  ];
  if (manager) platforms.push(chainPlatform(manager, { stepThreads: options.chainStepThreads }));
  const named = configs ? platforms.filter((platform) => configs.names.includes(platform.name)) : platforms;
  return new Map(named.map((platform) => [platform.name, platform]));
}
