/**
 * A loaded AOTInductor package. Its compiled code reads each input with the sizes it was
 * compiled for and checks none of them (a wrong shape reads past the request's buffer), so
 * every input is checked against the signature's shape here, before it reaches the addon:
 * TensorProto bytes and typed arrays from what they carry, a chained tensor (HostTensorHandle)
 * through the tensor codec's decode(), which hands it back as it is with its dtype and shape.
 * ModelServable then checks names and dtypes as for any model.
 */
import { invalidArgument } from '../../errors/serving_error';
import {
  type BackendAddon,
  loadTensorCodec,
  type ModelHandle,
  type NativeOutput,
  type TensorCodec,
  type TensorSource,
} from '../../native/backend_addon';
import type { RunRequest } from '../../servables/inference_servable';
import { ModelServable } from '../../servables/model_servable';
import { DEFAULT_SIGNATURE_NAME, type SignatureMap, type TensorSpec } from '../../servables/signature';
import { DataType, dataTypeShortName } from '../../tensors/data_type';
import { tensorProtoShape } from './tensor_proto_shape';

function fits(shape: number[], expected: number[]): boolean {
  return shape.length === expected.length && shape.every((size, i) => expected[i] === -1 || expected[i] === size);
}

export class AotiServable extends ModelServable {
  private readonly codec: Pick<TensorCodec, 'decode'> = loadTensorCodec();

  constructor(addon: BackendAddon, handle: ModelHandle, signatures: SignatureMap) {
    super(addon, handle, signatures);
  }

  override async run(request: RunRequest): Promise<Map<string, NativeOutput>> {
    // Unknown signatures and aliases are ModelServable's to report.
    const signature = this.signatures.get(request.signatureName || DEFAULT_SIGNATURE_NAME);
    for (const [alias, source] of request.inputs) {
      const spec = signature?.inputs.get(alias);
      if (spec?.shape) await this.checkInput(alias, source, spec);
    }
    return super.run(request);
  }

  private async checkInput(alias: string, source: TensorSource, spec: TensorSpec): Promise<void> {
    let shape: number[] | undefined;
    if (source instanceof Uint8Array)
      shape = tensorProtoShape(source); // undefined: the decoder reports it
    else if ('shape' in source) shape = source.shape;
    else {
      const chained = await this.codec.decode(source);
      if (spec.dtype !== DataType.DT_INVALID && chained.dtype !== spec.dtype) {
        throw invalidArgument(
          `input ${alias}: dtype ${dataTypeShortName(chained.dtype)} where the signature takes ${dataTypeShortName(spec.dtype)}`,
        );
      }
      shape = chained.shape;
    }
    if (shape && !fits(shape, spec.shape!)) {
      throw invalidArgument(
        `input ${alias}: shape [${shape.join(',')}] does not match the signature's [${spec.shape!.join(',')}] (-1: any size)`,
      );
    }
  }
}
