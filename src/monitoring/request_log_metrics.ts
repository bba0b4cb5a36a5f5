/**
 * Request logging's figures: TF-Serving's request_log_count (every sampled request, by model and
 * by what collecting it answered: OK, or RESOURCE_EXHAUSTED when the collector's buffer was full)
 * and duoserve's count of records lost, by file prefix and why ("buffer_full": dropped at once
 * rather than making the request wait; "write_error": the file system refused them).
 */
import { Counter } from 'prom-client';
import type { StatusCodeName } from '../errors/status_code';
import { metricsRegistry, prometheusName } from './registry';

const registers = [metricsRegistry];

const requestLogCount = new Counter({
  name: prometheusName('/tensorflow/serving/request_log_count'),
  help: 'The total number of requests logged from the model server sliced down by model_name and status code.',
  labelNames: ['model_name', 'status_code'],
  registers,
});

const droppedRecords = new Counter({
  name: 'duoserve_request_log_dropped_records_total',
  help: 'Request log records not written: buffer_full (dropped rather than delay a request), closed (after its config ended) or write_error.',
  labelNames: ['filename_prefix', 'reason'],
  registers,
});

export type DropReason = 'buffer_full' | 'closed' | 'write_error';

export function recordRequestLogged(modelName: string, status: StatusCodeName): void {
  requestLogCount.inc({ model_name: modelName, status_code: status });
}

export function recordLogRecordsDropped(filenamePrefix: string, reason: DropReason, records = 1): void {
  droppedRecords.inc({ filename_prefix: filenamePrefix, reason }, records);
}
