/**
 * LogCollector (TF-Serving's core/log_collector.h): where a RequestLogger's serialized
 * PredictionLog records go, created from LogCollectorConfig by the factory its `type` names.
 * duoserve registers one type, "tfrecord" (tfrecord_log_collector.ts). Called on the JS thread;
 * collect() never waits.
 */
import { ServingError } from '../errors/serving_error';
import { TFRecordLogCollector, type TFRecordLogOptions } from './tfrecord_log_collector';

export interface LogCollector {
  /** Takes one record; false when it was dropped (the collector's buffer is full, or it is closed). */
  collect(record: Uint8Array): boolean;
  /** Writes what it holds, closes its file; later records are dropped. */
  close(): Promise<void>;
}

/** LogCollectorConfig, as read from the model config. */
export interface LogCollectorConfig {
  readonly type: string;
  readonly filenamePrefix: string;
}

/** What every collector is given besides its config (the --duoserve_request_log_* flags). */
export type LogCollectorOptions = TFRecordLogOptions;

type Factory = (config: LogCollectorConfig, options: LogCollectorOptions) => LogCollector;

export const TFRECORD_COLLECTOR_TYPE = 'tfrecord';

const FACTORIES: ReadonlyMap<string, Factory> = new Map([
  [TFRECORD_COLLECTOR_TYPE, (config, options) => TFRecordLogCollector.create(config.filenamePrefix, options)],
]);

/** The collector `config.type` names; NOT_FOUND in TF-Serving's words for a type nobody registered. */
export function createLogCollector(config: LogCollectorConfig, options: LogCollectorOptions): LogCollector {
  const factory = FACTORIES.get(config.type);
  if (!factory) throw new ServingError('NOT_FOUND', `Cannot find LogCollector::Factory for type: ${config.type}`);
  return factory(config, options);
}
