import type { Manager } from '../../core/manager';
import type { ModelQueueBound } from '../model_queue_bound';
import type { ServerRequestLogger } from '../../request_logging/server_request_logger';

/** What every REST route plugin is given (the composition root builds it once). */
export interface RestRouteDeps {
  manager: Manager;
  /** --rest_api_timeout_in_ms: deadline of one model run; 0 or absent: none. */
  timeoutMs?: number;
  /** --enable_signature_method_name_check (Classify/Regress); absent: off, TF-Serving's default. */
  enableSignatureMethodNameCheck?: boolean;
  /** --duoserve_max_queued_requests_per_model, for :predict, :classify and :regress; absent: none. */
  queueBound?: ModelQueueBound;
  /** Each model's request logger (ServerCore's): logging_config. */
  requestLogger?: ServerRequestLogger;
}
