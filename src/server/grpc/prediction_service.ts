import type { Metadata, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Manager } from '../../core/manager';
import { invalidArgument } from '../../errors/serving_error';
import type { OutputEncoding } from '../../native/backend_addon';
import { Protos } from '../../protos';
import type { InferenceServable } from '../../servables/inference_servable';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { encodeSignatureDefMap, SIGNATURE_DEF_MAP_TYPE_URL } from '../../servables/signature_def';
import { ModelSpecMessage, responseModelSpec, servableRequestOf } from '../model_spec';
import { rawUnaryMethod } from './raw_method';
import { decodeRequest, unaryHandler } from './unary_handler';

const SERVICE = 'tensorflow.serving.PredictionService';

export const predictionServiceDefinition = {
  Predict: rawUnaryMethod(SERVICE, 'Predict'),
  GetModelMetadata: rawUnaryMethod(SERVICE, 'GetModelMetadata'),
};

/** Opt-in per request: outputs as tensor_content instead of TF-Serving's typed fields. */
export const OUTPUT_ENCODING_HEADER = 'x-duoserve-output-encoding';

interface PredictEnvelope {
  model_spec?: ModelSpecMessage;
  inputs: Record<string, Buffer>;
  output_filter: string[];
}

interface MetadataRequest {
  model_spec?: ModelSpecMessage;
  metadata_field: string[];
}

function outputEncoding(metadata: Metadata): OutputEncoding {
  const [value] = metadata.get(OUTPUT_ENCODING_HEADER);
  return value === 'tensor_content' ? 'content' : 'fields';
}

export function predictionService(manager: Manager): UntypedServiceImplementation {
  return {
    Predict: unaryHandler(async (bytes, metadata) => {
      const request = decodeRequest<PredictEnvelope>(Protos.PredictRequestEnvelope, bytes);
      const handle = manager.getServableHandle<InferenceServable>(servableRequestOf(request.model_spec));
      try {
        const signatureName = request.model_spec?.signature_name || DEFAULT_SIGNATURE_NAME;
        const outputs = await handle.servable.run({
          signatureName,
          inputs: new Map(Object.entries(request.inputs)),
          outputFilter: request.output_filter,
          encoding: outputEncoding(metadata),
        });
        return Protos.PredictResponseEnvelope.encode({
          outputs: Object.fromEntries(outputs),
          model_spec: responseModelSpec(handle.id.name, handle.id.version, signatureName),
        }).finish();
      } finally {
        handle.release();
      }
    }),

    GetModelMetadata: unaryHandler(async (bytes) => {
      const request = decodeRequest<MetadataRequest>(Protos.GetModelMetadataRequest, bytes);
      const servableRequest = servableRequestOf(request.model_spec);
      if (request.metadata_field.length === 0) {
        throw invalidArgument('GetModelMetadataRequest must specify at least one metadata_field');
      }
      for (const field of request.metadata_field) {
        if (field !== 'signature_def') throw invalidArgument(`Metadata field ${field} is not supported`);
      }
      const handle = manager.getServableHandle<InferenceServable>(servableRequest);
      try {
        return Protos.GetModelMetadataResponse.encode({
          model_spec: responseModelSpec(handle.id.name, handle.id.version),
          metadata: {
            signature_def: { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: encodeSignatureDefMap(handle.servable.signatures) },
          },
        }).finish();
      } finally {
        handle.release();
      }
    }),
  };
}
