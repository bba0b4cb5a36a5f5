/**
 * GET /v1/models/NAME[/versions/N|/labels/L]: GetModelStatus as JSON.
 * As in TF-Serving, a label does not narrow the answer (GetModelStatus looks at the version
 * only): every version of the model is listed.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Manager } from '../../core/manager';
import type { ServableState } from '../../core/servable_state';
import { invalidArgument } from '../../errors/serving_error';
import { versionStatesFor } from '../model_status';
import type { StatusCodeName } from '../../errors/status_code';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, parseVersion } from './model_paths';
import type { RestRouteDeps } from './route_deps';

/** tensorflow.serving.GetModelStatusResponse in proto3 JSON (its json_names are snake_case). */
export interface ModelStatusResponse {
  model_version_status: Array<{
    version: string /* int64 */;
    state: ServableState;
    status: { error_code: StatusCodeName; error_message: string };
  }>;
}

const statusSchema = {
  params: modelParamsSchema,
  response: {
    200: {
      type: 'object',
      properties: {
        model_version_status: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              version: { type: 'string' },
              state: { type: 'string', enum: ['UNKNOWN', 'START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END'] },
              status: {
                type: 'object',
                properties: { error_code: { type: 'string' }, error_message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  },
} as const;

export const modelStatusRoute: FastifyPluginAsync<RestRouteDeps> = async (app, { manager }) => {
  app.get('/v1/models', async () => {
    throw invalidArgument('Missing model name in request.');
  });
  for (const path of modelPaths('')) {
    app.get(path, { schema: statusSchema }, async (request, reply) => {
      const { name, version } = request.params as ModelParams;
      const response = modelStatus(manager, name, version);
      // protobuf's JSON printer with add_whitespace indents by one space.
      return sendJson(reply, JSON.stringify(response, null, 1));
    });
  }
};

function modelStatus(manager: Manager, name: string, versionText?: string): ModelStatusResponse {
  const version = versionText === undefined ? undefined : parseVersion(versionText);
  return {
    model_version_status: versionStatesFor(manager, { name, version }).map((snapshot) => ({
      version: String(snapshot.id.version),
      state: snapshot.state,
      status: {
        error_code: snapshot.error?.code ?? 'OK',
        error_message: snapshot.error?.message ?? '',
      },
    })),
  };
}
