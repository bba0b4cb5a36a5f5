/**
 * --monitoring_config_file (TF-Serving's MonitoringConfig): where, if anywhere, the REST port
 * serves the Prometheus page. TF-Serving reads the file only when it starts a REST server, so
 * this is read only then too.
 */
import { readTextProtoFile } from '../config/text_proto_file';
import { Protos } from '../protos';

/** PrometheusExporter::kPrometheusPath: the page's path when the config names none. */
export const DEFAULT_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

interface MonitoringConfigMessage {
  prometheus_config?: { enable?: boolean; path?: string };
}

/** The Prometheus page's path that `file` asks for; undefined when none ('' file) or not enabled. */
export function prometheusPathOf(file: string): string | undefined {
  if (file === '') return undefined;
  const config = readTextProtoFile(Protos.MonitoringConfig, file) as MonitoringConfigMessage;
  const prometheus = config.prometheus_config;
  if (!prometheus?.enable) return undefined;
  return prometheus.path || DEFAULT_PROMETHEUS_PATH;
}
