/**
 * The Open Inference Protocol's (KServe v2) REST API as one encapsulated fastify plugin, beside
 * TF-Serving's /v1 plugin on the same port, every answer from OpenInference:
 *   GET  /v2                                            server metadata
 *   GET  /v2/health/live, /v2/health/ready              200 {"live"|"ready": true}, else 400
 *   GET  /v2/models/{name}[/versions/{v}]               model metadata
 *   GET  /v2/models/{name}[/versions/{v}]/ready         200 {"name", "ready": true}, else 400
 *   POST /v2/models/{name}[/versions/{v}]/infer         JSON, or the binary tensor extension
 * "Not ready" is a 400, as the protocol (a 4xx is false) and Triton answer: tritonclient reads
 * anything but 200 as false, the kserve SDK any non-2xx. Errors are {"error": message} with the
 * catalog's HTTP status (rest_errors.ts). Bodies are bounded by the same limit as /v1's, and may
 * come gzip- or deflate-compressed. The two health routes are probes: they answer while the
 * server drains (not ready then) and stay out of the request metrics; every other route goes
 * through the drain and the metrics (API label ModelInfer for infer, '' for the GETs).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { failedPrecondition, invalidArgument } from '../../../errors/serving_error';
import { deadlineInMs } from '../../../servables/run_deadline';
import type { OpenInference } from '../../open_inference/open_inference';
import { cancelledOnClose } from '../connection_close';
import { sendJson } from '../json_reply';
import { acceptAnyBodyAsBytes, bodyBytes, DEFAULT_BODY_LIMIT } from '../request_body';
import { restErrorHandler } from '../rest_errors';
import { recordRestRequests } from '../rest_request_metrics';
import { inflateCompressedBodies } from './content_encoding';
import { INFERENCE_HEADER_CONTENT_LENGTH, quoted, readInferRequest } from './infer_request_body';
import { inferResponseBody } from './infer_response_body';

export interface OpenInferenceRestOptions {
  openInference: OpenInference;
  /** Largest request body in bytes (default DEFAULT_BODY_LIMIT), inflated size for a compressed one. */
  bodyLimit?: number;
  /** --rest_api_timeout_in_ms: deadline of one model run; 0 or absent: none. */
  timeoutMs?: number;
}

/** The protocol extensions GET /v2 lists: what this transport serves beyond the core. */
export const REST_EXTENSIONS = ['binary_tensor_data', 'parameters'];

const MODEL_PATHS = ['/v2/models/:name', '/v2/models/:name/versions/:version'];

interface ModelParams {
  name: string;
  version?: string;
}

const PROBE = { config: { probe: true } };

export const openInferenceRestApi: FastifyPluginAsync<OpenInferenceRestOptions> = async (app, options) => {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  acceptAnyBodyAsBytes(app, bodyLimit);
  inflateCompressedBodies(app);
  app.setErrorHandler(restErrorHandler(bodyLimit));
  await app.register(healthRoutes, options);
  await app.register(modelRoutes, options);
};

const healthRoutes: FastifyPluginAsync<OpenInferenceRestOptions> = async (app, { openInference }) => {
  app.get('/v2/health/live', PROBE, async (_request, reply) => {
    if (!openInference.serverLive()) throw failedPrecondition('The server is not live');
    return sendJson(reply, '{"live":true}');
  });
  app.get('/v2/health/ready', PROBE, async (_request, reply) => {
    if (!openInference.serverReady()) throw failedPrecondition('The server is not ready');
    return sendJson(reply, '{"ready":true}');
  });
};

const modelRoutes: FastifyPluginAsync<OpenInferenceRestOptions> = async (app, { openInference, timeoutMs }) => {
  recordRestRequests(app, (request) => (request.method === 'POST' ? 'ModelInfer' : ''));

  app.get('/v2', async (_request, reply) =>
    sendJson(reply, JSON.stringify(openInference.serverMetadata(REST_EXTENSIONS))),
  );

  for (const path of MODEL_PATHS) {
    app.get(path, async (request, reply) => {
      const { name, version = '' } = request.params as ModelParams;
      return sendJson(reply, JSON.stringify(await openInference.modelMetadata(name, version)));
    });

    app.get(`${path}/ready`, async (request, reply) => {
      const { name, version = '' } = request.params as ModelParams;
      if (!openInference.modelReady(name, version)) {
        throw failedPrecondition(
          version === ''
            ? `Model ${quoted(name)} is not ready`
            : `Model ${quoted(name)} version ${quoted(version)} is not ready`,
        );
      }
      return sendJson(reply, JSON.stringify({ name, ready: true }));
    });

    app.post(`${path}/infer`, async (request, reply) => {
      const { name, version = '' } = request.params as ModelParams;
      const header = request.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      const inferRequest = readInferRequest(
        bodyBytes(request.body),
        header === undefined ? undefined : String(header),
        { modelName: name, modelVersion: version },
      );
      const response = await openInference.infer(inferRequest, {
        deadlineUs: deadlineInMs(timeoutMs),
        cancelled: cancelledOnClose(reply),
        timeoutMs,
      });
      return sendInferBody(reply, inferResponseBody(response, inferRequest.parameters));
    });
  }

  // Any other /v2 request: 400, as Triton answers a path it does not serve.
  const unsupported = async (request: { method: string; url: string }) => {
    throw invalidArgument(`Unsupported request: ${request.method} ${quoted(request.url.split('?')[0])}`);
  };
  app.all('/v2/*', unsupported);
  app.route({ method: ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'], url: '/v2', handler: unsupported });
};

/** JSON alone as one buffer; JSON then binary outputs as a stream of the pieces, never joined. */
function sendInferBody(reply: FastifyReply, body: ReturnType<typeof inferResponseBody>): FastifyReply {
  if (body.jsonLength === undefined) return sendJson(reply, body.chunks[0]);
  return reply
    .header(INFERENCE_HEADER_CONTENT_LENGTH, body.jsonLength)
    .header('content-type', 'application/octet-stream')
    .header('content-length', body.length)
    .send(Readable.from(body.chunks));
}
