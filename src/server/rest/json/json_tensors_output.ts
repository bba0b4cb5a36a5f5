/**
 * Tensors -> JSON values, by TF-Serving's rules (json_tensor.cc AddTensorValues): nested
 * lists following the shape, floats via WriteDecimal, int64 as plain JSON numbers, and
 * DT_STRING as text, or as {"b64": ...} when the output's alias ends in "_bytes".
 * half/bfloat16 are written as the float32 they widen to; complex values as [real, imaginary].
 */
import { internal, invalidArgument } from '../../../errors/serving_error';
import type { HostTensorOutput } from '../../../native/backend_addon';
import { DataType } from '../../../tensors/data_type';
import { dataTypeString } from '../../../tensors/data_type_string';
import { bfloat16ToNumber, halfToNumber } from '../../../tensors/float16';
import { formatFloat32, formatFloat64 } from './json_decimal';
import type { PrettyJsonWriter } from './json_pretty_writer';
import { elementCount } from './json_tensors';

/** Outputs whose alias ends so hold binary data (a CMLE convention TF-Serving keeps). */
const BYTES_SUFFIX = '_bytes';

/** Writes element `index` of a tensor. */
export type ElementWriter = (writer: PrettyJsonWriter, index: number) => void;

/** Reads one output tensor as JSON, element by element. */
export class OutputTensorJson {
  readonly shape: number[];
  private readonly writeElement: ElementWriter;

  constructor(
    readonly alias: string,
    tensor: HostTensorOutput,
  ) {
    this.shape = tensor.shape;
    this.writeElement = elementWriter(alias, tensor);
  }

  /**
   * Writes the sub-tensor at dimension `dim` starting at element `offset` (the whole tensor
   * for dim 0; one instance of a batch for dim 1); returns the next offset.
   */
  write(writer: PrettyJsonWriter, dim: number, offset: number): number {
    const rank = this.shape.length;
    if (dim >= rank) {
      this.writeElement(writer, offset);
      return offset + 1;
    }
    writer.startArray();
    let next = offset;
    if (dim === rank - 1) {
      for (const end = next + this.shape[dim]; next < end; next++) this.writeElement(writer, next);
    } else {
      for (let i = 0; i < this.shape[dim]; i++) next = this.write(writer, dim + 1, next);
    }
    writer.endArray();
    return next;
  }
}

function elementWriter(alias: string, tensor: HostTensorOutput): ElementWriter {
  const count = elementCount(tensor.shape);
  const buffer = tensor.data ?? new ArrayBuffer(0);
  const view = <T extends { length: number }>(array: T, perElement = 1): T => {
    if (array.length < count * perElement) {
      throw internal(`output ${alias} holds ${array.length} values for shape [${tensor.shape.join(',')}]`);
    }
    return array;
  };
  const number = (values: ArrayLike<number>) => (writer: PrettyJsonWriter, i: number) => writer.raw(String(values[i]));
  const float32 = (read: (i: number) => number) => (writer: PrettyJsonWriter, i: number) =>
    writer.raw(formatFloat32(read(i)));
  const complex =
    (values: ArrayLike<number>, format: (value: number) => string) => (writer: PrettyJsonWriter, i: number) => {
      writer.startArray();
      writer.raw(format(values[2 * i]));
      writer.raw(format(values[2 * i + 1]));
      writer.endArray();
    };
  switch (tensor.dtype) {
    case DataType.DT_FLOAT: {
      const values = view(new Float32Array(buffer));
      return float32((i) => values[i]);
    }
    case DataType.DT_DOUBLE: {
      const values = view(new Float64Array(buffer));
      return (writer, i) => writer.raw(formatFloat64(values[i]));
    }
    case DataType.DT_HALF: {
      const values = view(new Uint16Array(buffer));
      return float32((i) => halfToNumber(values[i]));
    }
    case DataType.DT_BFLOAT16: {
      const values = view(new Uint16Array(buffer));
      return float32((i) => bfloat16ToNumber(values[i]));
    }
    case DataType.DT_INT8:
      return number(view(new Int8Array(buffer)));
    case DataType.DT_UINT8:
      return number(view(new Uint8Array(buffer)));
    case DataType.DT_INT16:
      return number(view(new Int16Array(buffer)));
    case DataType.DT_UINT16:
      return number(view(new Uint16Array(buffer)));
    case DataType.DT_INT32:
      return number(view(new Int32Array(buffer)));
    case DataType.DT_UINT32:
      return number(view(new Uint32Array(buffer)));
    case DataType.DT_INT64: {
      const values = view(new BigInt64Array(buffer));
      return (writer, i) => writer.raw(values[i].toString());
    }
    case DataType.DT_UINT64: {
      const values = view(new BigUint64Array(buffer));
      return (writer, i) => writer.raw(values[i].toString());
    }
    case DataType.DT_BOOL: {
      const values = view(new Uint8Array(buffer));
      return (writer, i) => writer.raw(values[i] ? 'true' : 'false');
    }
    case DataType.DT_COMPLEX64:
      return complex(view(new Float32Array(buffer), 2), formatFloat32);
    case DataType.DT_COMPLEX128:
      return complex(view(new Float64Array(buffer), 2), formatFloat64);
    case DataType.DT_STRING: {
      const strings = view(tensor.strings ?? []);
      if (!alias.endsWith(BYTES_SUFFIX)) return (writer, i) => writer.string(strings[i].toString('utf8'));
      return (writer, i) => {
        writer.startObject();
        writer.key('b64');
        writer.string(strings[i].toString('base64'));
        writer.endObject();
      };
    }
    default:
      throw invalidArgument(`Failed to write JSON value for tensor type: ${dataTypeString(tensor.dtype)}`);
  }
}
