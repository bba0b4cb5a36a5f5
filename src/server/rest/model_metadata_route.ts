/**
 * GET /v1/models/NAME[/versions/N|/labels/L]/metadata: GetModelMetadata as JSON, laid out
 * as TF-Serving assembles it: the ModelSpec, and the SignatureDefMap unpacked from its Any
 * (so no "@type"), both printed with proto field names and default values.
 */
import type { FastifyPluginAsync } from 'fastify';
import { signatureDefMapJson } from '../../servables/signature_def';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, servableRequestOf } from './model_paths';
import type { RestRouteDeps } from './route_deps';
import { withServable } from '../with_servable';

/** tensorflow.serving.GetModelMetadataResponse as the REST API returns it. */
export interface ModelMetadataResponse {
  model_spec: { name: string; signature_name: string; version: string /* int64 */ };
  metadata: { signature_def: Record<string, unknown> /* SignatureDefMap: {"signature_def": {...}} */ };
}

const metadataSchema = {
  params: modelParamsSchema,
  response: {
    200: {
      type: 'object',
      properties: {
        model_spec: {
          type: 'object',
          properties: { name: { type: 'string' }, signature_name: { type: 'string' }, version: { type: 'string' } },
        },
        metadata: { type: 'object', properties: { signature_def: { type: 'object', additionalProperties: true } } },
      },
    },
  },
} as const;

export const modelMetadataRoute: FastifyPluginAsync<RestRouteDeps> = async (app, { manager }) => {
  for (const path of modelPaths('/metadata')) {
    app.get(path, { schema: metadataSchema }, async (request, reply) => {
      const text = await withServable(manager, servableRequestOf(request.params as ModelParams), async (handle) =>
        metadataText({
          model_spec: { name: handle.id.name, signature_name: '', version: String(handle.id.version) },
          metadata: { signature_def: signatureDefMapJson(handle.servable.signatures) },
        }),
      );
      return sendJson(reply, text);
    });
  }
};

/** TF-Serving prints the two messages separately and joins them with this framing. */
function metadataText({ model_spec, metadata }: ModelMetadataResponse): string {
  const spec = JSON.stringify(model_spec, null, 1);
  const signatures = JSON.stringify(metadata.signature_def, null, 1);
  return `{\n"model_spec":${spec},\n"metadata": {"signature_def": ${signatures}}\n}\n`;
}
