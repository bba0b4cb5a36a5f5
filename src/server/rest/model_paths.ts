/**
 * The URL forms of TF-Serving's REST API, as fastify (find-my-way) patterns:
 *   /v1/models/NAME[/versions/N | /labels/L][SUFFIX]
 * Names and labels exclude '/' and ':', versions are digits, as in TF-Serving's regexes.
 * A verb follows a colon (":predict"); in find-my-way "::" is a literal ':'.
 */
import type { ServableRequest } from '../../core/servable_request';
import { invalidArgument } from '../../errors/serving_error';

/** Path parameters of every model route (already URL-decoded by fastify). */
export interface ModelParams {
  name: string;
  version?: string;
  label?: string;
}

export const modelParamsSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string', pattern: '^[0-9]+$' },
    label: { type: 'string' },
  },
} as const;

const MODEL = '/v1/models/:name(^[^/:]+)';

/** The three addressings of a model (latest, a version, a label), each followed by `suffix`. */
export function modelPaths(suffix: string): string[] {
  return [MODEL, `${MODEL}/versions/:version(^\\d+)`, `${MODEL}/labels/:label(^[^/:]+)`].map((path) => path + suffix);
}

/** The suffix of a POST verb route, e.g. ":predict". */
export function verbSuffix(verb: 'predict' | 'classify' | 'regress'): string {
  return `::${verb}`;
}

const INT64_MAX = 2n ** 63n - 1n;

export function parseVersion(text: string): number {
  if (!/^\d+$/.test(text) || BigInt(text) > INT64_MAX) {
    throw invalidArgument(`Failed to convert version: ${text} to numeric.`);
  }
  return Number(text);
}

/** Which version the path asks for; neither version nor label means the latest. */
export function servableRequestOf(params: ModelParams): ServableRequest {
  if (params.version !== undefined) return { name: params.name, version: parseVersion(params.version) };
  if (params.label !== undefined) return { name: params.name, label: params.label };
  return { name: params.name };
}

/**
 * The ModelSpec of the request TF-Serving's REST handler builds from a call (what a request log
 * records): the path's model and version or label, the body's signature name.
 */
export function requestModelSpec(request: ServableRequest, signatureName: string) {
  return {
    name: request.name,
    version: request.version === undefined ? undefined : { value: request.version },
    version_label: request.label,
    signature_name: signatureName,
  };
}
