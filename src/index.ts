/**
 * The `duoserve` package: models of either framework (TensorFlow SavedModels, TorchScript and
 * AOTInductor .pt2, .tflite) and chains served in-process by ModelHost, with the server's own
 * tensors, errors and lifecycle types; and typed clients of TF-Serving's gRPC and REST APIs.
 */
export {
  ModelHost,
  type ModelHostOptions,
  type ModelMetadata,
  type ModelSpec,
  type OutputTensor,
  type PredictOptions,
} from './library/model_host';
export { type DtypeName, type TensorInput } from './library/tensor_input';
export type { ExampleFeatures, ExamplesInput, FeatureValues } from './library/example_features';
export { type ModelEntry } from './config/model_entries';
export { type ModelConfig, type ModelServerConfig } from './config/model_server_config';
export { GrpcServingClient, type CallOptions, type GrpcClientOptions } from './client/grpc_client';
export { RestServingClient, type RestCallOptions } from './client/rest_client';
export type {
  AnsweringModelSpec,
  ClassifyResult,
  ModelVersionStatus,
  PredictResult,
  RegressResult,
} from './client/client_types';
export { ServingError } from './errors/serving_error';
export { StatusCode, type StatusCodeName, grpcStatusOf, httpStatusOf } from './errors/status_code';
export { DataType, type DataTypeName, dataTypeName } from './tensors/data_type';
export { type TensorValues, type TypedTensor } from './tensors/typed_tensor';
export type { HostTensorHandle, HostTensorOutput, TensorSource } from './native/backend_addon';
export type { Signature, SignatureMap, TensorSpec } from './servables/signature';
export type { ServableState, ServableStateSnapshot } from './core/servable_state';
export type { ServableId } from './core/servable_id';
export type { ServableVersionPolicy } from './core/servable_version_policy';
export { consoleLog, silentLog, type Log, type LogSeverity } from './core/log';
