/**
 * ClassificationResult / RegressionResult as TF-Serving's REST API answers them
 * (MakeJsonFromClassificationResult / MakeJsonFromRegressionResult), laid out by rapidjson's
 * PrettyWriter as TF-Serving lays them out:
 *   {"results": [[[label, score], ...], ...]}   one list of [label, score] per example
 *   {"results": [value, ...]}                   one value per example
 * A label the model does not produce is "", a score 0.0.
 */
import type { ClassificationResultMessage } from '../../../servables/classifier';
import type { RegressionResultMessage } from '../../../servables/regressor';
import { formatFloat32 } from './json_decimal';
import { PrettyJsonWriter } from './json_pretty_writer';

const RESULTS_KEY = 'results';

export function classificationResultJson(result: ClassificationResultMessage): string {
  const writer = new PrettyJsonWriter();
  writer.startObject();
  writer.key(RESULTS_KEY);
  writer.startArray();
  for (const { classes } of result.classifications) {
    writer.singleLineArrays = true;
    writer.startArray();
    for (const { label, score } of classes) {
      writer.startArray();
      writer.string(label ?? '');
      writer.raw(formatFloat32(score ?? 0));
      writer.endArray();
    }
    writer.endArray();
    writer.singleLineArrays = false;
  }
  writer.endArray();
  writer.endObject();
  return writer.toString();
}

export function regressionResultJson(result: RegressionResultMessage): string {
  const writer = new PrettyJsonWriter();
  writer.startObject();
  writer.key(RESULTS_KEY);
  writer.singleLineArrays = true;
  writer.startArray();
  for (const { value } of result.regressions) writer.raw(formatFloat32(value));
  writer.endArray();
  writer.endObject();
  return writer.toString();
}
