/**
 * ServerRequestLogger (TF-Serving's core/server_request_logger.h): which RequestLogger, if any,
 * logs each model's requests. A config (re)load first prepares the change (creating a logger for
 * each LoggingConfig not in force yet, which checks it: an unknown collector type is NOT_FOUND),
 * so a refused config changes nothing, and then applies it: models whose LoggingConfig is
 * unchanged keep their logger and its open file; the loggers no model uses any more are closed
 * (their queued records written, their files closed). Models with the same LoggingConfig share
 * one logger, as in TF-Serving.
 */
import { createLogCollector, type LogCollectorOptions } from './log_collector';
import { RequestLogger, type RequestLoggingConfig } from './request_logger';

/** A prepared change: each model's logger, by config key too. */
export interface RequestLoggerUpdate {
  readonly byModel: ReadonlyMap<string, RequestLogger>;
  readonly byConfig: ReadonlyMap<string, RequestLogger>;
}

export interface ServerRequestLoggerOptions {
  collector: LogCollectorOptions;
  /** LogMetadata.saved_model_tags (--saved_model_tags). */
  savedModelTags: readonly string[];
}

export class ServerRequestLogger {
  private byModel: ReadonlyMap<string, RequestLogger> = new Map();
  private byConfig: ReadonlyMap<string, RequestLogger> = new Map();

  constructor(private readonly options: ServerRequestLoggerOptions) {}

  /**
   * The logger of `modelName` when this request is to be logged, else undefined: the sampling is
   * decided here, before the request runs, so that a request not logged costs one map lookup.
   */
  sampled(modelName: string): RequestLogger | undefined {
    if (this.byModel.size === 0) return undefined;
    const logger = this.byModel.get(modelName);
    return logger?.sample() ? logger : undefined;
  }

  /** The loggers for `configs` (model name -> its logging_config); throws the first config's error. */
  prepare(configs: ReadonlyMap<string, RequestLoggingConfig>): RequestLoggerUpdate {
    const byModel = new Map<string, RequestLogger>();
    const byConfig = new Map<string, RequestLogger>();
    for (const [model, config] of configs) {
      let logger = byConfig.get(config.key) ?? this.byConfig.get(config.key);
      if (!logger) {
        // A collector opens its first file at its first record: one made here and then
        // dropped with a refused config holds nothing.
        logger = new RequestLogger(
          config,
          createLogCollector(config.collector, this.options.collector),
          this.options.savedModelTags,
        );
      }
      byConfig.set(config.key, logger);
      byModel.set(model, logger);
    }
    return { byModel, byConfig };
  }

  /** Puts `update` in force; resolves once the loggers it leaves unused are closed. */
  async apply(update: RequestLoggerUpdate): Promise<void> {
    const retired = [...this.byConfig.values()].filter((logger) => update.byConfig.get(logger.config.key) !== logger);
    this.byModel = update.byModel;
    this.byConfig = update.byConfig;
    await Promise.all(retired.map((logger) => logger.close()));
  }

  /** prepare() then apply(). */
  update(configs: ReadonlyMap<string, RequestLoggingConfig>): Promise<void> {
    return this.apply(this.prepare(configs));
  }

  /** Stops logging; resolves once every file is written and closed. */
  close(): Promise<void> {
    return this.apply({ byModel: new Map(), byConfig: new Map() });
  }
}
