/**
 * RequestLogger (TF-Serving's core/request_logger.h): samples the requests of the models that
 * share one LoggingConfig, and hands each sampled one, with its response and LogMetadata, to the
 * config's LogCollector as a serialized PredictionLog. The request and response go in as the
 * bytes the API already has (the PredictionLog envelope holds them as bytes), so nothing is
 * decoded or encoded again.
 */
import { toServingError } from '../errors/serving_error';
import { Protos } from '../protos';
import { recordRequestLogged } from '../monitoring/request_log_metrics';
import type { LogCollector, LogCollectorConfig } from './log_collector';

/** PredictionLog's log_type of each API duoserve logs. */
export type LoggedApi = 'predict_log' | 'classify_log' | 'regress_log' | 'multi_inference_log';

/** A model's logging_config, checked (model_server_config.ts). */
export interface RequestLoggingConfig {
  readonly collector: LogCollectorConfig;
  /** SamplingConfig as LogMetadata carries it: sampling_rate is the one in force (see samplingRateOf). */
  readonly samplingConfig: { readonly sampling_rate: number; readonly [field: string]: unknown };
  /** The LoggingConfig's serialized bytes, base64: models with the same config share one logger. */
  readonly key: string;
}

/** LogMetadata.model_spec: the model, version and signature that answered. */
export interface LoggedModelSpec {
  name: string;
  version?: number;
  signatureName?: string;
}

export class RequestLogger {
  private readonly rate: number;
  /** logEncoded() calls still making their bytes: close() waits for them. */
  private readonly encoding = new Set<Promise<void>>();

  constructor(
    readonly config: RequestLoggingConfig,
    private readonly collector: LogCollector,
    private readonly savedModelTags: readonly string[],
  ) {
    this.rate = config.samplingConfig.sampling_rate;
  }

  /** Whether to log this request: uniformly at random with the sampling rate (0: never, 1: always). */
  sample(): boolean {
    return this.rate >= 1 || (this.rate > 0 && Math.random() < this.rate);
  }

  /** Logs one sampled request; request_log_count says whether the collector took it. */
  log(api: LoggedApi, spec: LoggedModelSpec, request: Uint8Array, response: Uint8Array): void {
    const record = Protos.PredictionLogEnvelope.encode({
      log_metadata: {
        model_spec: {
          name: spec.name,
          version: spec.version === undefined ? undefined : { value: spec.version },
          signature_name: spec.signatureName,
        },
        sampling_config: this.config.samplingConfig,
        saved_model_tags: this.savedModelTags,
        timestamp_secs: Math.floor(Date.now() / 1000),
      },
      [api]: { request, response },
    }).finish();
    recordRequestLogged(spec.name, this.collector.collect(record) ? 'OK' : 'RESOURCE_EXHAUSTED');
  }

  /**
   * Logs a request whose request and response bytes are still to be made (a REST call, whose
   * tensors are encoded off the JS thread); a failure to make them is counted in
   * request_log_count under its status, as TF-Serving counts a failed CreateLogMessage.
   */
  logEncoded(
    api: LoggedApi,
    spec: LoggedModelSpec,
    encode: () => Promise<[request: Uint8Array, response: Uint8Array]>,
  ): Promise<void> {
    const logged = encode().then(
      (encoded) => this.log(api, spec, ...encoded),
      (error: unknown) => recordRequestLogged(spec.name, toServingError(error).code),
    );
    this.encoding.add(logged);
    void logged.then(() => this.encoding.delete(logged));
    return logged;
  }

  /** Logs what is still being encoded, then closes the collector (its file written and closed). */
  async close(): Promise<void> {
    await Promise.all(this.encoding);
    await this.collector.close();
  }
}
