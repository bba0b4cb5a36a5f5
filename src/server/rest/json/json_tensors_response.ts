/**
 * Predict outputs -> the response body, laid out as TF-Serving writes it
 * (MakeJsonFromTensors): row format {"predictions": [...]} splits dimension 0 into
 * instances (a list of objects when there are several outputs, a plain list for one);
 * columnar {"outputs": ...} writes whole tensors (an object when there are several).
 */
import { internal, invalidArgument } from '../../../errors/serving_error';
import { isHostTensorOutput, type HostTensorOutput, type NativeOutput } from '../../../native/backend_addon';
import { PrettyJsonWriter } from './json_pretty_writer';
import type { JsonPredictFormat } from './json_tensors_request';
import { OutputTensorJson } from './json_tensors_output';

export function predictResponseJson(outputs: Map<string, NativeOutput>, format: JsonPredictFormat): string {
  if (outputs.size === 0) throw invalidArgument('Cannot convert empty tensor map to JSON');
  const tensors = [...outputs].map(([alias, output]) => new OutputTensorJson(alias, hostOutput(alias, output)));
  return format === 'row' ? rowFormat(tensors) : columnarFormat(tensors);
}

/** {"error": message}, the body of every failed REST call. */
export function errorJson(message: string): string {
  const writer = new PrettyJsonWriter();
  writer.startObject();
  writer.key('error');
  writer.string(message);
  writer.endObject();
  return writer.toString();
}

function hostOutput(alias: string, output: NativeOutput): HostTensorOutput {
  if (!isHostTensorOutput(output)) throw internal(`output ${alias} came back encoded; REST asks for 'host' outputs`);
  return output;
}

function rowFormat(tensors: OutputTensorJson[]): string {
  let batchSize = -1;
  for (const tensor of tensors) {
    if (tensor.shape.length === 0) throw invalidArgument(`Tensor name: ${tensor.alias} has no shape information `);
    const size = tensor.shape[0];
    if (batchSize >= 0 && size !== batchSize) {
      throw invalidArgument(
        `Tensor name: ${tensor.alias} has inconsistent batch size: ${size} expecting: ${batchSize}`,
      );
    }
    batchSize = size;
  }
  const writer = new PrettyJsonWriter();
  writer.startObject();
  writer.key('predictions');
  writer.startArray();
  const named = tensors.length > 1;
  const offsets = tensors.map(() => 0);
  for (let item = 0; item < batchSize; item++) {
    if (named) writer.startObject();
    writer.singleLineArrays = true;
    tensors.forEach((tensor, k) => {
      if (named) writer.key(tensor.alias);
      offsets[k] = tensor.write(writer, 1, offsets[k]);
    });
    writer.singleLineArrays = false;
    if (named) writer.endObject();
  }
  writer.endArray();
  writer.endObject();
  return writer.toString();
}

function columnarFormat(tensors: OutputTensorJson[]): string {
  const writer = new PrettyJsonWriter();
  writer.startObject();
  writer.key('outputs');
  const named = tensors.length > 1;
  if (named) writer.startObject();
  for (const tensor of tensors) {
    if (named) writer.key(tensor.alias);
    tensor.write(writer, 0, 0);
  }
  if (named) writer.endObject();
  writer.endObject();
  return writer.toString();
}
