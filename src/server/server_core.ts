/**
 * The composition root (TF-Serving's ServerCore): turns a model config into a running
 * lifecycle. One file-system source watches every model's base path; a router sends each
 * model's versions to its platform's adapter (version directory -> Loader); the aspired
 * versions manager loads and serves them. Only this file and src/platforms/ know platforms.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AspiredVersionsManager } from '../core/aspired_versions_manager';
import { DynamicSourceRouter } from '../core/dynamic_source_router';
import { FileSystemSource, type ServableToMonitor } from '../core/file_system_source';
import type { Log } from '../core/log';
import type { Loader } from '../core/loader';
import { logServableStateTransitions } from '../core/servable_state_log';
import { SourceAdapter } from '../core/source_adapter';
import { connectSourceToTarget } from '../core/target';
import type { ModelConfig, ModelServerConfig } from '../config/model_server_config';
import { ConfigError } from '../config/config_error';
import type { Platform } from '../platforms/platform';
import { PlatformLoader } from '../platforms/platform_loader';

export interface ServerCoreOptions {
  platforms: ReadonlyMap<string, Platform>;
  fileSystemPollWaitSeconds: number;
  numLoadThreads?: number;
  log: Log;
}

/** TF-Serving's default when a model names no platform. */
const DEFAULT_PLATFORM = 'tensorflow';

export class ServerCore {
  readonly manager: AspiredVersionsManager;
  private readonly source: FileSystemSource;
  private readonly router: DynamicSourceRouter<string>;
  private models: readonly ResolvedModel[];

  constructor(
    config: ModelServerConfig,
    private readonly options: ServerCoreOptions,
  ) {
    this.models = this.resolve(config);
    this.manager = new AspiredVersionsManager({ numLoadThreads: options.numLoadThreads, log: options.log });
    logServableStateTransitions(this.manager.monitor, options.log);
    this.router = new DynamicSourceRouter<string>(routesOf(this.models), options.log);
    for (const platform of options.platforms.values()) {
      const adapter = new SourceAdapter<string, Loader>((_id, versionDir) => new PlatformLoader(platform, versionDir, options.log));
      connectSourceToTarget(this.router.output(platform.name), adapter);
      connectSourceToTarget(adapter, this.manager);
    }
    this.manager.setVersionLabels(labelsOf(this.models));
    this.source = new FileSystemSource({
      servables: this.models.map((model) => this.servableToMonitor(model)),
      pollWaitSeconds: options.fileSystemPollWaitSeconds,
      watch: true,
      log: options.log,
    });
    connectSourceToTarget(this.source, this.router);
  }

  /** Resolves once every configured model has settled its first load (AVAILABLE or failed). */
  async waitUntilModelsSettled(): Promise<void> {
    await Promise.all(
      this.models.map((model) => this.manager.monitor.waitUntilServablesReachState([{ name: model.name }], 'AVAILABLE')),
    );
  }

  async shutdown(): Promise<void> {
    await this.source.stop();
    await this.manager.shutdown();
  }

  private resolve(config: ModelServerConfig): ResolvedModel[] {
    return config.models.map((model) => {
      const platformName = model.platform ?? detectPlatform(model, this.options.platforms);
      const platform = this.options.platforms.get(platformName);
      if (!platform) {
        const known = [...this.options.platforms.keys()].join(', ');
        throw new ConfigError(`Model ${model.name}: unknown model_platform "${platformName}" (known: ${known})`);
      }
      return { ...model, platform: platformName, platformImpl: platform };
    });
  }

  private servableToMonitor(model: ResolvedModel): ServableToMonitor {
    return {
      servableName: model.name,
      basePath: model.basePath,
      versionPolicy: model.versionPolicy,
      isVersionComplete: (versionDir) => model.platformImpl.isVersionDir(versionDir),
    };
  }
}

interface ResolvedModel extends ModelConfig {
  readonly platform: string;
  readonly platformImpl: Platform;
}

function routesOf(models: readonly ResolvedModel[]): Map<string, string> {
  return new Map(models.map((model) => [model.name, model.platform]));
}

function labelsOf(models: readonly ResolvedModel[]): Map<string, ReadonlyMap<string, number>> {
  return new Map(models.map((model) => [model.name, model.versionLabels]));
}

/** Single-model mode: the platform whose files the highest version directory holds. */
function detectPlatform(model: ModelConfig, platforms: ReadonlyMap<string, Platform>): string {
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(model.basePath).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return DEFAULT_PLATFORM;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = path.join(model.basePath, version);
    for (const platform of platforms.values()) if (platform.isVersionDir(dir)) return platform.name;
  }
  return DEFAULT_PLATFORM;
}
