/**
 * POST /v1/models/NAME[/versions/N|/labels/L]:classify and :regress
 *
 * Request:  {"signature_name"?: string, "context"?: {feature: value|list},
 *            "examples": [{feature: value|list}, ...]}   (json/json_examples.ts)
 * Response: {"results": [[[label, score], ...], ...]} for :classify,
 *           {"results": [value, ...]} for :regress        (json/json_examples_response.ts)
 * The examples run through the same classify/regress as the gRPC API (src/servables/).
 */
import type { FastifyPluginAsync } from 'fastify';
import { classify } from '../../servables/classifier';
import type { ExamplesRequest } from '../../servables/example_inference';
import type { InferenceServable } from '../../servables/inference_servable';
import { regress } from '../../servables/regressor';
import { parseExamplesDocument } from './json/json_examples';
import { classificationResultJson, regressionResultJson } from './json/json_examples_response';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, servableRequestOf, verbSuffix } from './model_paths';
import { bodyText } from './request_body';
import type { RestRouteDeps } from './route_deps';
import { withServable } from '../with_servable';

const schema = { params: modelParamsSchema } as const;

type Answer = (servable: InferenceServable, request: ExamplesRequest) => Promise<string>;

export const classifyRegressRoute: FastifyPluginAsync<RestRouteDeps> = async (app, deps) => {
  const options = { enableSignatureMethodNameCheck: deps.enableSignatureMethodNameCheck };
  const answers: Record<'classify' | 'regress', Answer> = {
    classify: async (servable, request) => classificationResultJson(await classify(servable, request, options)),
    regress: async (servable, request) => regressionResultJson(await regress(servable, request, options)),
  };
  for (const [verb, api] of [
    ['classify', 'Classify'],
    ['regress', 'Regress'],
  ] as const) {
    for (const path of modelPaths(verbSuffix(verb))) {
      app.post(path, { schema }, async (request, reply) => {
        // TF-Serving's order: the path, then the JSON, then the servable, then the signature.
        const servableRequest = servableRequestOf(request.params as ModelParams);
        const document = parseExamplesDocument(bodyText(request.body));
        const answer = await withServable(
          deps.manager,
          servableRequest,
          ({ servable }) => answers[verb](servable, { ...document, origin: { modelName: servableRequest.name, api } }),
          { timeoutMs: deps.timeoutMs, queueBound: deps.queueBound },
        );
        return sendJson(reply, answer);
      });
    }
  }
};
