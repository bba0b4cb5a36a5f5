/**
 * POST /v1/models/NAME[/versions/N|/labels/L]:predict
 *
 * Request:  {"signature_name"?: string, "instances": [...]}  (row format)
 *        or {"signature_name"?: string, "inputs": value | {alias: value}}  (columnar)
 *           binary strings as {"b64": "..."}; NaN/Infinity accepted.
 * Response: {"predictions": [...]} for row requests, {"outputs": ...} for columnar ones
 *           (see src/tensors/json_tensors_response.ts).
 * The body is read whatever its Content-Type, as TF-Serving does (request_body.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import { invalidArgument } from '../../errors/serving_error';
import type { ServableHandle } from '../../core/servable_handle';
import type { InferenceServable } from '../../servables/inference_servable';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { parsePredictDocument, predictInputsFromJson } from '../../tensors/json_tensors_request';
import { predictResponseJson } from '../../tensors/json_tensors_response';
import { CHAIN_TIMING_HEADER, stepTimingHeaders, timingsRequested } from '../chain_timing';
import { withDeadline } from './deadline';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, servableRequestOf, verbSuffix } from './model_paths';
import { bodyText } from './request_body';
import type { RestRouteDeps } from './route_deps';

const predictSchema = { params: modelParamsSchema } as const;

export const predictRoute: FastifyPluginAsync<RestRouteDeps> = async (app, { manager, timeoutMs }) => {
  for (const path of modelPaths(verbSuffix('predict'))) {
    app.post(path, { schema: predictSchema }, async (request, reply) => {
      // TF-Serving's order: the path, then the JSON, then the servable, then the inputs.
      const servableRequest = servableRequestOf(request.params as ModelParams);
      const predict = parsePredictDocument(bodyText(request.body));
      const handle = manager.getServableHandle<InferenceServable>(servableRequest);
      let running: Promise<unknown> | undefined;
      try {
        const signatureName = predict.signatureName || DEFAULT_SIGNATURE_NAME;
        const signature = handle.servable.signatures.get(signatureName);
        if (!signature) throw invalidArgument(`Serving signature name: "${signatureName}" not found in signature def`);
        const { format, inputs } = predictInputsFromJson(predict, signature.inputs);
        const timings = timingsRequested(request.headers[CHAIN_TIMING_HEADER]);
        const run = handle.servable.run({ signatureName, inputs, outputFilter: [], encoding: 'host', timings });
        running = run;
        const outputs = await withDeadline(run, timeoutMs);
        for (const [name, value] of stepTimingHeaders(timings)) reply.header(name, value);
        return sendJson(reply, predictResponseJson(outputs, format));
      } finally {
        releaseWhenSettled(handle, running);
      }
    });
  }
};

/** A run that outlived its deadline still holds the model: release once it is done. */
function releaseWhenSettled(handle: ServableHandle, running: Promise<unknown> | undefined): void {
  if (!running) return handle.release();
  const release = () => handle.release();
  running.then(release, release);
}
