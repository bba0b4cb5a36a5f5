import { invalidArgument } from '../errors/serving_error';
import type { ServableId } from '../core/servable_id';
import type { ServableRequest } from '../core/servable_request';
import type { LoggedModelSpec } from '../request_logging/request_logger';

/** tensorflow.serving.ModelSpec as protobufjs decodes it (keepCase, longs as Long/number). */
export interface ModelSpecMessage {
  name?: string;
  version?: { value?: number | { toNumber(): number } } | null;
  version_label?: string;
  signature_name?: string;
}

function toNumber(value: number | { toNumber(): number } | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** The version request a ModelSpec makes: a version, a label, or (neither) the latest. */
export function servableRequestOf(spec: ModelSpecMessage | null | undefined): ServableRequest {
  const name = spec?.name ?? '';
  if (!name) throw invalidArgument('Missing model name in request.');
  if (spec?.version) return { name, version: toNumber(spec.version.value) };
  if (spec?.version_label) return { name, label: spec.version_label };
  return { name };
}

/** The ModelSpec a response carries: the model, the version that served it, the signature. */
export function responseModelSpec(name: string, version: number, signatureName = '') {
  return { name, version: { value: version }, signature_name: signatureName };
}

/** LogMetadata.model_spec of a logged request: the version that served it and the signature it ran. */
export function loggedSpec(id: ServableId, signatureName?: string): LoggedModelSpec {
  return { name: id.name, version: id.version, signatureName };
}
