/**
 * SignatureMap -> tensorflow.serving.SignatureDefMap, the form GetModelMetadata returns it in:
 * protobuf bytes for gRPC (packed in an Any) and proto3 JSON for REST.
 */
import { Protos } from '../protos';
import type { Signature, SignatureMap, TensorSpec } from './signature';

export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

function tensorInfo(spec: TensorSpec) {
  return {
    name: spec.name,
    dtype: spec.dtype,
    tensor_shape:
      spec.shape === null
        ? { dim: [], unknown_rank: true }
        : { dim: spec.shape.map((size) => ({ size, name: '' })), unknown_rank: false },
  };
}

function signatureDef(signature: Signature) {
  const infos = (specs: Map<string, TensorSpec>) =>
    Object.fromEntries([...specs].map(([alias, spec]) => [alias, tensorInfo(spec)]));
  return {
    inputs: infos(signature.inputs),
    outputs: infos(signature.outputs),
    method_name: signature.methodName,
    defaults: {},
  };
}

function signatureDefMapMessage(signatures: SignatureMap) {
  const signature_def = Object.fromEntries([...signatures].map(([name, sig]) => [name, signatureDef(sig)]));
  return Protos.SignatureDefMap.fromObject({ signature_def });
}

export function encodeSignatureDefMap(signatures: SignatureMap): Uint8Array {
  return Protos.SignatureDefMap.encode(signatureDefMapMessage(signatures)).finish();
}

/** Proto3 JSON as TF-Serving prints it: field names as in the .proto, int64 as strings,
 *  enums by name, default values included. */
export function signatureDefMapJson(signatures: SignatureMap): Record<string, unknown> {
  return Protos.SignatureDefMap.toObject(signatureDefMapMessage(signatures), {
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    objects: true,
  });
}
