/**
 * POST /v1/models/NAME[/versions/N|/labels/L]:predict
 *
 * Request:  {"signature_name"?: string, "instances": [...]}  (row format)
 *        or {"signature_name"?: string, "inputs": value | {alias: value}}  (columnar)
 *           binary strings as {"b64": "..."}; NaN/Infinity accepted.
 * Response: {"predictions": [...]} for row requests, {"outputs": ...} for columnar ones
 *           (see json/json_tensors_response.ts).
 * The body is read whatever its Content-Type, as TF-Serving does (request_body.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { predict } from '../../servables/predictor';
import type { SignatureMap } from '../../servables/signature';
import { deadlineInMs } from '../../servables/run_deadline';
import { CHAIN_TIMING_HEADER, stepTimingHeaders, timingsRequested } from '../chain_timing';
import { withServable } from '../with_servable';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, servableRequestOf, verbSuffix } from './model_paths';
import { predictResponseBytes, readPredictBody, type SignatureInputs, signatureInputs } from './predict_json';
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

export const predictRoute: FastifyPluginAsync<RestRouteDeps> = async (app, { manager, timeoutMs, queueBound }) => {
  for (const path of modelPaths(verbSuffix('predict'))) {
    app.post(path, { schema: predictSchema }, async (request, reply) => {
      // TF-Serving's order: the path, then the JSON, then the servable, then the inputs. The
      // JSON is read with the servable's signatures at hand (off the event loop when large:
      // predict_json.ts), so the servable is looked up first and its error waits for the JSON's.
      const servableRequest = servableRequestOf(request.params as ModelParams);
      const body = bodyBytes(request.body);
      const deadlineUs = deadlineInMs(timeoutMs);
      const outputs = await withServable(
        manager,
        servableRequest,
        async ({ servable }) => {
          const specs = inputSpecsOf(servable.signatures);
          const { signatureName, format, inputs } = (await readPredictBody(body, specs))!;
          const timings = timingsRequested(request.headers[CHAIN_TIMING_HEADER]);
          const run = {
            signatureName,
            inputs,
            outputFilter: [] as string[],
            encoding: 'host' as const,
            timings,
            deadlineUs,
            origin: { modelName: servableRequest.name, api: 'Predict' as const },
          };
          return { format, timings, outputs: await predict(servable, run) };
        },
        { timeoutMs, queueBound, beforeLookupError: () => readPredictBody(body, undefined) },
      );
      for (const [name, value] of stepTimingHeaders(outputs.timings)) reply.header(name, value);
      return sendJson(reply, await predictResponseBytes(outputs.outputs, outputs.format));
    });
  }
};
