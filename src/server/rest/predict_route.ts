/**
 * POST /v1/models/NAME[/versions/N|/labels/L]:predict
 *
 * Request:  {"signature_name"?: string, "instances": [...]}  (row format)
 *        or {"signature_name"?: string, "inputs": value | {alias: value}}  (columnar)
 *           binary strings as {"b64": "..."}; NaN/Infinity accepted.
 * Response: {"predictions": [...]} for row requests, {"outputs": ...} for columnar ones
 *           (see json/json_tensors_response.ts).
 * The body is read whatever its Content-Type, as TF-Serving does (request_body.ts).
 * A request to be logged is logged, once answered, as the PredictRequest TF-Serving's REST
 * handler builds from the JSON (the path's model spec, the body's signature) and the
 * PredictResponse gRPC would answer, both with typed value fields.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Protos } from '../../protos';
import type { RequestLogger } from '../../request_logging/request_logger';
import type { ServableId } from '../../core/servable_id';
import type { NativeOutput } from '../../native/backend_addon';
import { encodePredictResponse } from '../grpc/predict_response';
import { loggedSpec } from '../model_spec';
import { predict } from '../../servables/predictor';
import type { SignatureMap } from '../../servables/signature';
import { deadlineInMs } from '../../servables/run_deadline';
import { cancelledOnClose } from './connection_close';
import { CHAIN_TIMING_HEADER, stepTimingHeaders, timingsRequested } from '../chain_timing';
import { withServable } from '../with_servable';
import { sendJson } from './json_reply';
import {
  ModelParams,
  modelParamsSchema,
  modelPaths,
  requestModelSpec,
  servableRequestOf,
  verbSuffix,
} from './model_paths';
import {
  type PredictBody,
  predictResponseBytes,
  readPredictBody,
  type SignatureInputs,
  signatureInputs,
  tensorProtoBytes,
} from './predict_json';
import type { ServableRequest } from '../../core/servable_request';
import { bodyBytes } from './request_body';
import type { RestRouteDeps } from './route_deps';

const predictSchema = { params: modelParamsSchema } as const;

/** What reading a body needs of a version's signatures: made once per loaded version, not per request. */
const inputSpecs = new WeakMap<SignatureMap, SignatureInputs>();
function inputSpecsOf(signatures: SignatureMap): SignatureInputs {
  let specs = inputSpecs.get(signatures);
  if (!specs) inputSpecs.set(signatures, (specs = signatureInputs(signatures)));
  return specs;
}

/** Logs a REST Predict once answered; its tensors are encoded off the JS thread. */
function logPredict(
  logger: RequestLogger,
  request: ServableRequest,
  id: ServableId,
  body: PredictBody,
  outputs: Map<string, NativeOutput>,
): Promise<void> {
  const encodeAll = async (tensors: Map<string, Parameters<typeof tensorProtoBytes>[0]>) =>
    new Map(
      await Promise.all([...tensors].map(async ([alias, tensor]) => [alias, await tensorProtoBytes(tensor)] as const)),
    );
  return logger.logEncoded('predict_log', loggedSpec(id, body.signatureName), async () => {
    const [inputs, outputBytes] = await Promise.all([encodeAll(body.inputs), encodeAll(outputs)]);
    const predictRequest = Protos.PredictRequestEnvelope.encode({
      model_spec: requestModelSpec(request, body.signatureName),
      inputs: Object.fromEntries(inputs),
    }).finish();
    return [predictRequest, encodePredictResponse(outputBytes, id.name, id.version, body.signatureName)];
  });
}

export const predictRoute: FastifyPluginAsync<RestRouteDeps> = async (
  app,
  { manager, timeoutMs, queueBound, requestLogger },
) => {
  for (const path of modelPaths(verbSuffix('predict'))) {
    app.post(path, { schema: predictSchema }, async (request, reply) => {
      // TF-Serving's order: the path, then the JSON, then the servable, then the inputs. The
      // JSON is read with the servable's signatures at hand (off the event loop when large:
      // predict_json.ts), so the servable is looked up first and its error waits for the JSON's.
      const servableRequest = servableRequestOf(request.params as ModelParams);
      const body = bodyBytes(request.body);
      const deadlineUs = deadlineInMs(timeoutMs);
      const logger = requestLogger?.sampled(servableRequest.name);
      const cancelled = cancelledOnClose(reply);
      const outputs = await withServable(
        manager,
        servableRequest,
        async ({ servable, id }) => {
          const specs = inputSpecsOf(servable.signatures);
          const read = (await readPredictBody(body, specs))!;
          const { signatureName, format, inputs } = read;
          const timings = timingsRequested(request.headers[CHAIN_TIMING_HEADER]);
          const run = {
            signatureName,
            inputs,
            outputFilter: [] as string[],
            encoding: 'host' as const,
            timings,
            deadlineUs,
            cancelled,
            origin: { modelName: servableRequest.name, api: 'Predict' as const },
          };
          const result = await predict(servable, run);
          return {
            format,
            timings,
            outputs: result,
            logAfterReply: logger && (() => logPredict(logger, servableRequest, id, read, result)),
          };
        },
        { timeoutMs, queueBound, beforeLookupError: () => readPredictBody(body, undefined) },
      );
      for (const [name, value] of stepTimingHeaders(outputs.timings)) reply.header(name, value);
      const answer = await predictResponseBytes(outputs.outputs, outputs.format);
      void outputs.logAfterReply?.();
      return sendJson(reply, answer);
    });
  }
};
