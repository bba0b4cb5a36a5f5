/**
 * What the TF-Serving clients (gRPC and REST) answer with, typed: tensors as typed arrays with
 * their shapes, versions' states as the lifecycle names them, errors as ServingError.
 */
import type { ServableState } from '../core/servable_state';
import type { StatusCodeName } from '../errors/status_code';
import type { TypedTensor } from '../tensors/typed_tensor';

/** The ModelSpec a gRPC response carries: the version that answered and the signature it ran. */
export interface AnsweringModelSpec {
  name: string;
  version: number;
  signatureName: string;
}

export interface PredictResult {
  /** By output alias. */
  outputs: Record<string, TypedTensor>;
  /** gRPC only: REST's Predict answer names no version. */
  modelSpec?: AnsweringModelSpec;
}

export interface ClassifyResult {
  /** One list per example: its classes, each a label (empty when the signature has none) and a score. */
  classifications: Array<Array<{ label: string; score: number }>>;
  modelSpec?: AnsweringModelSpec;
}

export interface RegressResult {
  /** One value per example. */
  values: Float32Array;
  modelSpec?: AnsweringModelSpec;
}

/** One version as GetModelStatus reports it. */
export interface ModelVersionStatus {
  version: number;
  state: ServableState;
  /** OK, or why the version failed to load. */
  status: { code: StatusCodeName; message: string };
}
