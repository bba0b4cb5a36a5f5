/**
 * POST /v1/models/NAME[/versions/N|/labels/L]:classify and :regress
 *
 * Request:  {"signature_name"?: string, "context"?: {feature: value|list},
 *            "examples": [{feature: value|list}, ...]}   (json/json_examples.ts)
 * Response: {"results": [[[label, score], ...], ...]} for :classify,
 *           {"results": [value, ...]} for :regress        (json/json_examples_response.ts)
 * The examples run through the same classify/regress as the gRPC API (src/servables/). A
 * request to be logged is logged as the ClassificationRequest / RegressionRequest (and response)
 * TF-Serving's REST handler builds from the JSON: the path's model spec, the body's signature.
 */
import type { FastifyPluginAsync } from 'fastify';
import type * as protobuf from 'protobufjs';
import { Protos } from '../../protos';
import type { LoggedApi } from '../../request_logging/request_logger';
import { classify } from '../../servables/classifier';
import { type ExamplesRequest, signatureNameOf } from '../../servables/example_inference';
import type { InferenceServable } from '../../servables/inference_servable';
import { regress } from '../../servables/regressor';
import { loggedSpec, responseModelSpec } from '../model_spec';
import { withServable } from '../with_servable';
import { parseExamplesDocument } from './json/json_examples';
import { classificationResultJson, regressionResultJson } from './json/json_examples_response';
import { sendJson } from './json_reply';
import {
  ModelParams,
  modelParamsSchema,
  modelPaths,
  requestModelSpec,
  servableRequestOf,
  verbSuffix,
} from './model_paths';
import { bodyText } from './request_body';
import type { RestRouteDeps } from './route_deps';
import { cancelledOnClose } from './connection_close';
import { deadlineInMs } from '../../servables/run_deadline';

const schema = { params: modelParamsSchema } as const;

interface Verb {
  /** TF-Serving's API label (request metrics). */
  api: 'Classify' | 'Regress';
  run(servable: InferenceServable, request: ExamplesRequest): Promise<object>;
  json(result: any): string;
  log: { api: LoggedApi; request: protobuf.Type; response: protobuf.Type };
}

export const classifyRegressRoute: FastifyPluginAsync<RestRouteDeps> = async (app, deps) => {
  const options = { enableSignatureMethodNameCheck: deps.enableSignatureMethodNameCheck };
  const verbs: Record<'classify' | 'regress', Verb> = {
    classify: {
      api: 'Classify',
      run: (servable, request) => classify(servable, request, options),
      json: classificationResultJson,
      log: {
        api: 'classify_log',
        request: Protos.ClassificationRequestEnvelope,
        response: Protos.ClassificationResponse,
      },
    },
    regress: {
      api: 'Regress',
      run: (servable, request) => regress(servable, request, options),
      json: regressionResultJson,
      log: { api: 'regress_log', request: Protos.RegressionRequestEnvelope, response: Protos.RegressionResponse },
    },
  };
  for (const [name, verb] of Object.entries(verbs)) {
    for (const path of modelPaths(verbSuffix(name as keyof typeof verbs))) {
      app.post(path, { schema }, async (request, reply) => {
        // TF-Serving's order: the path, then the JSON, then the servable, then the signature.
        const servableRequest = servableRequestOf(request.params as ModelParams);
        const document = parseExamplesDocument(bodyText(request.body));
        const logger = deps.requestLogger?.sampled(servableRequest.name);
        const cancelled = cancelledOnClose(reply);
        // As for :predict: a run still queued at --rest_api_timeout_in_ms is not started.
        const deadlineUs = deadlineInMs(deps.timeoutMs);
        const answer = await withServable(
          deps.manager,
          servableRequest,
          async ({ servable, id }) => {
            const origin = { modelName: servableRequest.name, api: verb.api };
            const result = await verb.run(servable, { ...document, deadlineUs, cancelled, origin });
            if (logger) {
              const signatureName = signatureNameOf(document.signatureName);
              const { api, request: requestType, response: responseType } = verb.log;
              logger.log(
                api,
                loggedSpec(id, signatureName),
                requestType
                  .encode({
                    model_spec: requestModelSpec(servableRequest, document.signatureName),
                    input: document.input,
                  })
                  .finish(),
                responseType
                  .encode({ model_spec: responseModelSpec(id.name, id.version, signatureName), result })
                  .finish(),
              );
            }
            return verb.json(result);
          },
          { timeoutMs: deps.timeoutMs, queueBound: deps.queueBound },
        );
        return sendJson(reply, answer);
      });
    }
  }
};
