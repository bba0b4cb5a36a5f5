/**
 * A loaded AOTInductor package. Its compiled code reads each input with the sizes it was
 * compiled for and checks none of them (a wrong shape reads past the request's buffer), so
 * every request is checked against the signature's shapes here, before it reaches the addon;
 * ModelServable checks names and dtypes as for any model.
 */
import { invalidArgument } from '../../errors/serving_error';
import type { NativeOutput, TensorSource } from '../../native/backend_addon';
import type { RunRequest } from '../../servables/inference_servable';
import { ModelServable } from '../../servables/model_servable';
import { DEFAULT_SIGNATURE_NAME } from '../../servables/signature';
import { tensorProtoShape } from './tensor_proto_shape';

/**
 * The shape a source carries, where it can be told in TypeScript. A HostTensorHandle (a chained
 * tensor) is opaque here: whoever chains one into an AOTInductor model must have checked it.
 */
function sourceShape(source: TensorSource): number[] | undefined {
  if (source instanceof Uint8Array) return tensorProtoShape(source);
  if (typeof source === 'object' && source !== null && 'shape' in source) return source.shape;
  return undefined;
}

function fits(shape: number[], expected: number[]): boolean {
  return shape.length === expected.length && shape.every((size, i) => expected[i] === -1 || expected[i] === size);
}

export class AotiServable extends ModelServable {
  override async run(request: RunRequest): Promise<Map<string, NativeOutput>> {
    // Unknown signatures and aliases are ModelServable's to report.
    const signature = this.signatures.get(request.signatureName || DEFAULT_SIGNATURE_NAME);
    for (const [alias, source] of request.inputs) {
      const expected = signature?.inputs.get(alias)?.shape;
      const shape = sourceShape(source);
      if (expected && shape && !fits(shape, expected)) {
        throw invalidArgument(
          `input ${alias}: shape [${shape.join(',')}] does not match the signature's [${expected.join(',')}] ` +
            `(-1: any size)`,
        );
      }
    }
    return super.run(request);
  }
}
