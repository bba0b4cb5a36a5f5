/**
 * Warmup replayers for classify_log, regress_log and multi_inference_log records: the logged
 * request (its serialized bytes) runs through the loaded servable as the API would run it, and
 * the answer is dropped. The record belongs to the version being loaded: the request's model name
 * only labels its runtime_latency, as in TF-Serving. Each has warmup's WarmupReplayer shape (servable, request).
 */
import { invalidArgument } from '../errors/serving_error';
import { Protos } from '../protos';
import { classify } from './classifier';
import type { ExampleInferenceOptions } from './example_inference';
import type { InferenceServable } from './inference_servable';
import { InferenceTaskMessage, multiInference } from './multi_inference';
import { regress } from './regressor';
import type { SerializedInput } from './serialized_input';
import type { WarmupReplayers } from './warmup/warmup_replayer';

/** ClassificationRequest / RegressionRequest through their envelopes. */
interface ExampleRequestEnvelope {
  model_spec?: { name?: string; signature_name?: string } | null;
  input?: SerializedInput | null;
}

interface MultiInferenceRequestEnvelope {
  tasks: InferenceTaskMessage[];
  input?: SerializedInput | null;
}

function decode<T>(type: typeof Protos.ClassificationRequestEnvelope, name: string, request: Uint8Array): T {
  try {
    return type.decode(request) as unknown as T;
  } catch (error) {
    throw invalidArgument(`Failed to parse the ${name}: ${(error as Error).message}`);
  }
}

export async function replayClassify(
  servable: InferenceServable,
  request: Uint8Array,
  options: ExampleInferenceOptions = {},
): Promise<void> {
  const { model_spec, input } = decode<ExampleRequestEnvelope>(
    Protos.ClassificationRequestEnvelope,
    'ClassificationRequest',
    request,
  );
  const origin = { modelName: model_spec?.name ?? '', api: 'Classify' } as const;
  await classify(servable, { signatureName: model_spec?.signature_name, input, origin }, options);
}

export async function replayRegress(
  servable: InferenceServable,
  request: Uint8Array,
  options: ExampleInferenceOptions = {},
): Promise<void> {
  const { model_spec, input } = decode<ExampleRequestEnvelope>(
    Protos.RegressionRequestEnvelope,
    'RegressionRequest',
    request,
  );
  const origin = { modelName: model_spec?.name ?? '', api: 'Regress' } as const;
  await regress(servable, { signatureName: model_spec?.signature_name, input, origin }, options);
}

export async function replayMultiInference(
  servable: InferenceServable,
  request: Uint8Array,
  options: ExampleInferenceOptions = {},
): Promise<void> {
  const { tasks, input } = decode<MultiInferenceRequestEnvelope>(
    Protos.MultiInferenceRequestEnvelope,
    'MultiInferenceRequest',
    request,
  );
  await multiInference(servable, 0, tasks, input, options);
}

/** The warmup replayers for tf.Example-based logs, keyed as PredictionLog's log types. */
export function exampleWarmupReplayers(): WarmupReplayers {
  return new Map([
    ['classify_log', replayClassify],
    ['regress_log', replayRegress],
    ['multi_inference_log', replayMultiInference],
  ]);
}
