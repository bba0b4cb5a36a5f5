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
import type { ServableHandle } from '../../core/servable_handle';
import type { InferenceServable } from '../../servables/inference_servable';
import { CHAIN_TIMING_HEADER, stepTimingHeaders, timingsRequested } from '../chain_timing';
import { withDeadline } from './deadline';
import { sendJson } from './json_reply';
import { ModelParams, modelParamsSchema, modelPaths, servableRequestOf, verbSuffix } from './model_paths';
import { predictResponseBytes, readPredictBody, signatureInputs } from './predict_json';
import { bodyBytes } from './request_body';
import type { RestRouteDeps } from './route_deps';

const predictSchema = { params: modelParamsSchema } as const;

export const predictRoute: FastifyPluginAsync<RestRouteDeps> = async (app, { manager, timeoutMs }) => {
  for (const path of modelPaths(verbSuffix('predict'))) {
    app.post(path, { schema: predictSchema }, async (request, reply) => {
      // TF-Serving's order: the path, then the JSON, then the servable, then the inputs. The
      // JSON is read with the servable's signatures at hand (off the event loop when large:
      // predict_json.ts), so the servable is looked up first and its error waits for the JSON's.
      const servableRequest = servableRequestOf(request.params as ModelParams);
      let handle: ServableHandle<InferenceServable> | undefined;
      let lookupError: unknown;
      try {
        handle = manager.getServableHandle<InferenceServable>(servableRequest);
      } catch (error) {
        lookupError = error;
      }
      let running: Promise<unknown> | undefined;
      try {
        const signatures = handle && signatureInputs(handle.servable.signatures);
        const predict = await readPredictBody(bodyBytes(request.body), signatures);
        if (!handle || !predict) throw lookupError;
        const { signatureName, format, inputs } = predict;
        const timings = timingsRequested(request.headers[CHAIN_TIMING_HEADER]);
        const run = handle.servable.run({ signatureName, inputs, outputFilter: [], encoding: 'host', timings });
        running = run;
        const outputs = await withDeadline(run, timeoutMs);
        for (const [name, value] of stepTimingHeaders(timings)) reply.header(name, value);
        return sendJson(reply, await predictResponseBytes(outputs, format));
      } finally {
        if (handle) releaseWhenSettled(handle, running);
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
