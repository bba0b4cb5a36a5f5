/**
 * GetModelMetadata's SignatureDefMap, from either transport, as the server's own SignatureMap:
 * the gRPC message (decoded with enums and int64s as strings) and the REST JSON have one shape.
 */
import type { Signature, SignatureMap, TensorSpec } from '../servables/signature';
import { DataType } from '../tensors/data_type';

/** `signatureDefMap` is tensorflow.serving.SignatureDefMap in proto3 JSON form. */
export function signatureMapOf(signatureDefMap: any): SignatureMap {
  const defs: Record<string, any> = signatureDefMap?.signature_def ?? {};
  return new Map(Object.entries(defs).map(([name, def]): [string, Signature] => [name, signatureOf(def)]));
}

function signatureOf(def: any): Signature {
  return { methodName: def.method_name ?? '', inputs: tensorSpecsOf(def.inputs), outputs: tensorSpecsOf(def.outputs) };
}

function tensorSpecsOf(infos: Record<string, any> | undefined): Map<string, TensorSpec> {
  return new Map(Object.entries(infos ?? {}).map(([alias, info]): [string, TensorSpec] => [alias, tensorSpecOf(info)]));
}

function tensorSpecOf(info: any): TensorSpec {
  const dtype =
    typeof info.dtype === 'string' ? (DataType[info.dtype as keyof typeof DataType] ?? 0) : (info.dtype ?? 0);
  const shape = info.tensor_shape;
  return {
    name: info.name ?? '',
    dtype,
    shape: shape?.unknown_rank ? null : (shape?.dim ?? []).map((dim: any) => Number(dim.size)),
  };
}
