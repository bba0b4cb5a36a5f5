/**
 * The platform config map: `model_platform` -> Platform. The one place a framework is
 * registered; the lifecycle core never sees these names.
 */
import type { Platform, PlatformOptions } from './platform';
import { pyTorchPlatform } from './pytorch/pytorch_platform';
import { tensorFlowPlatform } from './tensorflow/tensorflow_platform';

export function platformRegistry(options: PlatformOptions): ReadonlyMap<string, Platform> {
  const platforms = [tensorFlowPlatform(options), pyTorchPlatform()];
  return new Map(platforms.map((platform) => [platform.name, platform]));
}
