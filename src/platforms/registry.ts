/**
 * The platform config map: `model_platform` -> Platform. The one place a framework is
 * registered; the lifecycle core never sees these names.
 */
import type { Manager } from '../core/manager';
import { chainPlatform } from './chain/chain_platform';
import type { Platform, PlatformOptions } from './platform';
import { pyTorchPlatform } from './pytorch/pytorch_platform';
import { tensorFlowPlatform } from './tensorflow/tensorflow_platform';
import { preferTfLite } from './tflite/tflite_platform';

/**
 * `manager` serves the models that chains run (the "chain" platform looks them up in it);
 * without one the map has no chain platform.
 */
export function platformRegistry(options: PlatformOptions, manager?: Manager): ReadonlyMap<string, Platform> {
  const platforms = [preferTfLite(tensorFlowPlatform(options), options), pyTorchPlatform()];
  if (manager) platforms.push(chainPlatform(manager));
  return new Map(platforms.map((platform) => [platform.name, platform]));
}
