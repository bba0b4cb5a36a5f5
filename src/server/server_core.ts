/**
 * The composition root (TF-Serving's ServerCore): turns a model config into a running
 * lifecycle, and replaces it at run time (reloadConfig). One file-system source watches every
 * model's base path; a router sends each model's versions to its platform's adapter (version
 * directory -> Loader); the aspired versions manager loads and serves them. Only this file and
 * src/platforms/ know platforms.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AspiredVersionPolicy } from '../core/aspired_version_policy';
import { AspiredVersionsManager } from '../core/aspired_versions_manager';
import { AvailabilityPreservingPolicy } from '../core/availability_preserving_policy';
import { DynamicSourceRouter } from '../core/dynamic_source_router';
import { FileSystemSource, type ServableToMonitor } from '../core/file_system_source';
import type { Log } from '../core/log';
import type { Loader } from '../core/loader';
import type { Manager } from '../core/manager';
import { ResourcePreservingPolicy } from '../core/resource_preserving_policy';
import { servableIdString } from '../core/servable_id';
import type { ServableStateSnapshot } from '../core/servable_state';
import { logServableStateTransitions } from '../core/servable_state_log';
import { ServableStateMonitor } from '../core/servable_state_monitor';
import { SourceAdapter } from '../core/source_adapter';
import { connectSourceToTarget } from '../core/target';
import type { VersionPolicyName } from '../config/flag_checks';
import type { ModelConfig, ModelServerConfig } from '../config/model_server_config';
import { failedPrecondition, invalidArgument, ServingError } from '../errors/serving_error';
import type { Platform } from '../platforms/platform';
import { PlatformLoader, type ModelWarmupOptions } from '../platforms/platform_loader';
import type { RequestLoggingConfig } from '../request_logging/request_logger';
import { ServerRequestLogger, type ServerRequestLoggerOptions } from '../request_logging/server_request_logger';
import {
  DEFAULT_BUFFER_BYTES,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_FILE_RECORDS,
} from '../request_logging/tfrecord_log_collector';

export interface ServerCoreOptions {
  /**
   * The platform config map, or a function building it once the manager exists (the "chain"
   * platform looks up the models that chains run in the manager).
   */
  platforms: ReadonlyMap<string, Platform> | ((manager: Manager) => ReadonlyMap<string, Platform>);
  /** --file_system_poll_wait_seconds (fractions are fine here). */
  fileSystemPollWaitSeconds: number;
  /** --num_load_threads; default 0: one load at a time. */
  numLoadThreads?: number;
  /** --num_unload_threads; default 0: one unload at a time. */
  numUnloadThreads?: number;
  /** --max_num_load_retries; default 5. */
  maxNumLoadRetries?: number;
  /** --load_retry_interval_micros; default one minute. */
  loadRetryIntervalMicros?: number;
  /** Order of loads and unloads within a model; default availability-preserving, as TF-Serving. */
  aspiredVersionPolicy?: AspiredVersionPolicy;
  /** --allow_version_labels_for_unavailable_models. */
  allowVersionLabelsForUnavailableModels?: boolean;
  /** Warmup of each version before it serves; TF-Serving's defaults when omitted. */
  warmup?: ModelWarmupOptions;
  /** Request logging's settings (the --duoserve_request_log_* flags); absent: their defaults. */
  requestLogging?: Partial<ServerRequestLoggerOptions['collector']> & { savedModelTags?: readonly string[] };
  log: Log;
}

/** TF-Serving's default when a model names no platform. */
const DEFAULT_PLATFORM = 'tensorflow';

/** The policy --duoserve_version_policy names. */
export function aspiredVersionPolicyNamed(name: VersionPolicyName): AspiredVersionPolicy {
  return name === 'resource_preserving' ? new ResourcePreservingPolicy() : new AvailabilityPreservingPolicy();
}

export class ServerCore {
  readonly manager: AspiredVersionsManager;
  /** Each model's request logger (its logging_config), replaced with the config. */
  readonly requestLogger: ServerRequestLogger;
  private readonly platforms: ReadonlyMap<string, Platform>;
  private readonly source: FileSystemSource;
  private readonly router: DynamicSourceRouter<string>;
  private models: readonly ResolvedModel[] = [];
  /** Reloads run one after another (TF-Serving holds a lock for the whole reload). */
  private reloads: Promise<unknown> = Promise.resolve();
  private stopped = false;

  /** Throws ServingError for a config TF-Serving would refuse at startup (see reloadConfig). */
  constructor(
    config: ModelServerConfig,
    private readonly options: ServerCoreOptions,
  ) {
    this.manager = new AspiredVersionsManager({
      numLoadThreads: options.numLoadThreads,
      numUnloadThreads: options.numUnloadThreads,
      maxNumLoadRetries: options.maxNumLoadRetries,
      loadRetryIntervalMicros: options.loadRetryIntervalMicros,
      aspiredVersionPolicy: options.aspiredVersionPolicy,
      log: options.log,
    });
    this.platforms = typeof options.platforms === 'function' ? options.platforms(this.manager) : options.platforms;
    this.models = this.validate(config);
    const logging = options.requestLogging;
    this.requestLogger = new ServerRequestLogger({
      collector: {
        maxFileBytes: logging?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        maxFileRecords: logging?.maxFileRecords ?? DEFAULT_MAX_FILE_RECORDS,
        bufferBytes: logging?.bufferBytes ?? DEFAULT_BUFFER_BYTES,
        log: options.log,
      },
      savedModelTags: logging?.savedModelTags ?? ['serve'],
    });
    // Nothing to close yet: apply() settles at once.
    void this.requestLogger.apply(this.requestLogger.prepare(loggingConfigsOf(this.models)));
    logServableStateTransitions(this.manager.monitor, options.log);
    this.router = new DynamicSourceRouter<string>(routesOf(this.models), options.log);
    for (const platform of this.platforms.values()) {
      const adapter = new SourceAdapter<string, Loader>(
        (id, versionDir) =>
          new PlatformLoader(platform, versionDir, { ...options.warmup, ...platform.warmup, log: options.log, id }),
      );
      connectSourceToTarget(this.router.output(platform.name), adapter);
      connectSourceToTarget(adapter, this.manager);
    }
    this.manager.setVersionLabels(labelsOf(this.models));
    this.source = new FileSystemSource({
      servables: loadOrder(this.models).map(servableToMonitor),
      pollWaitSeconds: options.fileSystemPollWaitSeconds,
      watch: true,
      log: options.log,
    });
    connectSourceToTarget(this.source, this.router);
  }

  /** The model config in force, platforms resolved. */
  get config(): ModelServerConfig {
    return { models: this.models.map(({ platformImpl: _, ...model }) => model) };
  }

  /**
   * Resolves once every configured model has settled its first load; rejects with UNKNOWN
   * ("N servable(s) did not become available: ...", as TF-Serving fails to start) when a
   * model's first version to settle failed.
   */
  async waitUntilModelsAvailable(): Promise<void> {
    const names = this.models.map((model) => model.name);
    await waitUntilAvailable(names, this.manager.monitor, 'servable(s)');
  }

  /**
   * Replaces the model config, as TF-Serving's ServerCore::ReloadConfig does. First checks it,
   * leaving the running config untouched if it is refused:
   * - INVALID_ARGUMENT: a model changes platform ("Illegal to change a model's platform. ..."),
   *   or names a platform no adapter serves ("Model M requests unsupported platform P");
   * - FAILED_PRECONDITION: a version label names a version that is not AVAILABLE ("Request to
   *   assign label to version N of model M, which is not currently available for inference"),
   *   unless --allow_version_labels_for_unavailable_models and the label is new or keeps its
   *   version.
   * Then applies it: labels, models added (their base paths polled at once), models removed
   * (every version unloaded), base paths and version policies changed. Resolves once every
   * model that is new in this config has settled its first load; rejects with UNKNOWN ("N
   * model(s) did not become available: ...") when one failed (the config stays applied).
   */
  reloadConfig(config: ModelServerConfig): Promise<void> {
    const reload = this.reloads.then(() => this.applyConfig(config));
    this.reloads = reload.catch(() => undefined);
    return reload;
  }

  /** Stops the source, unloads every version, and writes and closes the request logs. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.source.stop();
    await this.manager.shutdown();
    await this.requestLogger.close();
  }

  private async applyConfig(config: ModelServerConfig): Promise<void> {
    if (this.stopped) throw new ServingError('UNAVAILABLE', 'The server is shutting down');
    const models = this.validate(config);
    // Checked before anything changes (TF-Serving's CreateUpdateRequest); applied with the models.
    const loggers = this.requestLogger.prepare(loggingConfigsOf(models));
    const previous = this.models;
    const added = models.filter((model) => !previous.some((old) => old.name === model.name)).map((model) => model.name);
    // A config file polled every second is mostly unchanged: log only changes.
    const changed = configKey(models) !== configKey(previous);
    if (changed) this.options.log('INFO', 'Adding/updating models.');
    // Only transitions from now on count: a model added again still has its old END states.
    const fresh = new ServableStateMonitor();
    const unsubscribe = this.manager.monitor.subscribe((snapshot) => fresh.publish(snapshot));
    let loggersReplaced: Promise<void> | undefined;
    try {
      this.models = models;
      loggersReplaced = this.requestLogger.apply(loggers);
      this.manager.setVersionLabels(labelsOf(models));
      // Removed models still need their route while the source unloads them.
      this.router.updateRoutes(new Map([...routesOf(previous), ...routesOf(models)]));
      await this.source.updateConfig(loadOrder(models).map(servableToMonitor));
      this.router.updateRoutes(routesOf(models));
      // A new model with nothing on disk to load is not waited for (TF-Serving would wait for
      // ever, holding every later reload): the reload answers, and the model loads once a
      // version appears.
      const nothingToLoad = added.flatMap((name) => {
        const why = this.source.nothingToLoad(name);
        return why === undefined ? [] : [{ name, why }];
      });
      await waitUntilAvailable(
        added.filter((name) => !nothingToLoad.some((idle) => idle.name === name)),
        fresh,
        'model(s)',
      );
      if (nothingToLoad.length > 0) {
        const names = nothingToLoad.map(({ name }) => name).join(', ');
        throw new ServingError(
          'NOT_FOUND',
          `${nothingToLoad.map(({ why }) => why).join(' ')} The config is applied: ${names} will load once a ` +
            'version appears.',
        );
      }
    } finally {
      unsubscribe();
      // A reload answers once the logs it ended are written and closed.
      await loggersReplaced;
    }
    if (changed) this.options.log('INFO', 'Finished reloading config');
  }

  /** The config's models with their platforms, or the error TF-Serving refuses it with. */
  private validate(config: ModelServerConfig): ResolvedModel[] {
    const models = config.models.map((model) => ({
      ...model,
      platform: model.platform ?? detectPlatform(model, this.platforms),
    }));
    for (const model of models) {
      const old = this.models.find((running) => running.name === model.name);
      if (old && old.platform !== model.platform) {
        throw invalidArgument(
          `Illegal to change a model's platform. For model ${model.name} platform was ${old.platform} ` +
            `and new platform requested is ${model.platform}`,
        );
      }
    }
    for (const model of models) this.checkVersionLabels(model);
    return models.map((model) => {
      const platformImpl = this.platforms.get(model.platform);
      if (!platformImpl) throw invalidArgument(`Model ${model.name} requests unsupported platform ${model.platform}`);
      return { ...model, platformImpl };
    });
  }

  /** TF-Serving's rule: a label may only name an AVAILABLE version (see reloadConfig). */
  private checkVersionLabels(model: ModelConfig): void {
    const states = this.manager.monitor.getVersionStates(model.name);
    const running = this.models.find((old) => old.name === model.name)?.versionLabels;
    for (const [label, version] of model.versionLabels) {
      const existing = running?.get(label);
      const allowUnavailable =
        this.options.allowVersionLabelsForUnavailableModels === true &&
        (existing === undefined || existing === version);
      const available = states.some((snapshot) => snapshot.id.version === version && snapshot.state === 'AVAILABLE');
      if (!available && !allowUnavailable) {
        throw failedPrecondition(
          `Request to assign label to version ${version} of model ${model.name}, ` +
            'which is not currently available for inference',
        );
      }
    }
  }
}

interface ResolvedModel extends ModelConfig {
  readonly platform: string;
  readonly platformImpl: Platform;
}

/** Config order, except that platforms whose loads wait for other models (chains) go last. */
function loadOrder(models: readonly ResolvedModel[]): ResolvedModel[] {
  const rank = (model: ResolvedModel) => (model.platformImpl.loadsAfterOthers ? 1 : 0);
  return [...models].sort((a, b) => rank(a) - rank(b));
}

function servableToMonitor(model: ResolvedModel): ServableToMonitor {
  return {
    servableName: model.name,
    basePath: model.basePath,
    versionPolicy: model.versionPolicy,
    isVersionComplete: (versionDir) => model.platformImpl.isVersionDir(versionDir),
  };
}

function configKey(models: readonly ResolvedModel[]): string {
  return JSON.stringify(models.map(({ platformImpl: _, versionLabels, ...model }) => [model, [...versionLabels]]));
}

function loggingConfigsOf(models: readonly ResolvedModel[]): Map<string, RequestLoggingConfig> {
  return new Map(models.flatMap((model) => (model.logging ? [[model.name, model.logging] as const] : [])));
}

function routesOf(models: readonly ResolvedModel[]): Map<string, string> {
  return new Map(models.map((model) => [model.name, model.platform]));
}

function labelsOf(models: readonly ResolvedModel[]): Map<string, ReadonlyMap<string, number>> {
  return new Map(models.map((model) => [model.name, model.versionLabels]));
}

/**
 * Waits until each model has a version AVAILABLE or its first settled version is END; the
 * latter fails with UNKNOWN in TF-Serving's words (`noun` is "servable(s)" at startup).
 */
async function waitUntilAvailable(
  names: readonly string[],
  monitor: ServableStateMonitor,
  noun: string,
): Promise<void> {
  if (names.length === 0) return;
  const settled = await monitor.waitUntilServablesReachState(
    names.map((name) => ({ name })),
    'AVAILABLE',
  );
  const failed = settled.filter((snapshot) => snapshot.state !== 'AVAILABLE');
  if (failed.length === 0) return;
  const entries = failed.map((snapshot) => `{${servableIdString(snapshot.id)}${dueTo(snapshot)}}, `).join('');
  throw new ServingError('UNKNOWN', `${failed.length} ${noun} did not become available: {${entries}}`);
}

function dueTo({ error }: ServableStateSnapshot): string {
  return error ? ` due to error: ${error.code}: ${error.message}` : '';
}

/** Single-model mode: the platform whose files the highest version directory holds. */
function detectPlatform(model: ModelConfig, platforms: ReadonlyMap<string, Platform>): string {
  let versions: string[];
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
