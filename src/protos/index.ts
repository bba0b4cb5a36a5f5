/**
 * The proto/ tree, loaded once with protobufjs. Field names stay as written in the .proto
 * files (snake_case), which is also what TF-Serving's REST JSON uses.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');

const FILES = [
  'tensorflow/core/framework/tensor.proto',
  'tensorflow/core/protobuf/meta_graph.proto',
  'tensorflow_serving/apis/predict.proto',
  'tensorflow_serving/apis/classification.proto',
  'tensorflow_serving/apis/regression.proto',
  'tensorflow_serving/apis/inference.proto',
  'tensorflow_serving/apis/get_model_metadata.proto',
  'tensorflow_serving/apis/get_model_status.proto',
  'tensorflow_serving/apis/model_management.proto',
  'tensorflow_serving/config/model_server_config.proto',
  'tensorflow_serving/config/platform_config.proto',
  'tensorflow_serving/config/monitoring_config.proto',
  'tensorflow_serving/config/ssl_config.proto',
  'tensorflow/core/protobuf/config.proto',
  'tensorflow_serving/servables/tensorflow/saved_model_bundle_source_adapter.proto',
  'duoserve/wire_envelopes.proto',
  'duoserve/chain.proto',
  'duoserve/input_envelopes.proto',
  'tensorflow_serving/apis/prediction_log.proto',
  'duoserve/prediction_log_envelopes.proto',
  'inference/grpc_service.proto',
];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : path.join(PROTO_ROOT, target);
  root.loadSync(FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

export const protoRoot = loadRoot();

export function protoType(name: string): protobuf.Type {
  return protoRoot.lookupType(name);
}

export const Protos = {
  TensorProto: protoType('tensorflow.TensorProto'),
  SignatureDefMap: protoType('tensorflow.serving.SignatureDefMap'),
  MetaGraphDef: protoType('tensorflow.MetaGraphDef'),
  PredictRequest: protoType('tensorflow.serving.PredictRequest'),
  PredictResponse: protoType('tensorflow.serving.PredictResponse'),
  PredictRequestEnvelope: protoType('duoserve.envelope.PredictRequestEnvelope'),
  PredictResponseEnvelope: protoType('duoserve.envelope.PredictResponseEnvelope'),
  PredictionLogEnvelope: protoType('duoserve.envelope.PredictionLogEnvelope'),
  PredictionLog: protoType('tensorflow.serving.PredictionLog'),
  LoggingConfig: protoType('tensorflow.serving.LoggingConfig'),
  Example: protoType('tensorflow.Example'),
  Input: protoType('tensorflow.serving.Input'),
  ClassificationRequest: protoType('tensorflow.serving.ClassificationRequest'),
  ClassificationResponse: protoType('tensorflow.serving.ClassificationResponse'),
  RegressionRequest: protoType('tensorflow.serving.RegressionRequest'),
  RegressionResponse: protoType('tensorflow.serving.RegressionResponse'),
  MultiInferenceRequest: protoType('tensorflow.serving.MultiInferenceRequest'),
  MultiInferenceResponse: protoType('tensorflow.serving.MultiInferenceResponse'),
  SerializedInput: protoType('duoserve.envelope.SerializedInput'),
  ClassificationRequestEnvelope: protoType('duoserve.envelope.ClassificationRequestEnvelope'),
  RegressionRequestEnvelope: protoType('duoserve.envelope.RegressionRequestEnvelope'),
  MultiInferenceRequestEnvelope: protoType('duoserve.envelope.MultiInferenceRequestEnvelope'),
  GetModelMetadataRequest: protoType('tensorflow.serving.GetModelMetadataRequest'),
  GetModelMetadataResponse: protoType('tensorflow.serving.GetModelMetadataResponse'),
  GetModelStatusRequest: protoType('tensorflow.serving.GetModelStatusRequest'),
  GetModelStatusResponse: protoType('tensorflow.serving.GetModelStatusResponse'),
  ReloadConfigRequest: protoType('tensorflow.serving.ReloadConfigRequest'),
  ReloadConfigResponse: protoType('tensorflow.serving.ReloadConfigResponse'),
  ModelServerConfig: protoType('tensorflow.serving.ModelServerConfig'),
  MonitoringConfig: protoType('tensorflow.serving.MonitoringConfig'),
  SSLConfig: protoType('tensorflow.serving.SSLConfig'),
  ChainDefinition: protoType('duoserve.chain.ChainDefinition'),
  ConfigProto: protoType('tensorflow.ConfigProto'),
  PlatformConfigMap: protoType('tensorflow.serving.PlatformConfigMap'),
  SavedModelBundleSourceAdapterConfig: protoType('tensorflow.serving.SavedModelBundleSourceAdapterConfig'),
  BatchingParameters: protoType('tensorflow.serving.BatchingParameters'),
  ModelInferRequest: protoType('inference.ModelInferRequest'),
  ModelInferResponse: protoType('inference.ModelInferResponse'),
  ModelStreamInferResponse: protoType('inference.ModelStreamInferResponse'),
  ModelReadyRequest: protoType('inference.ModelReadyRequest'),
  ModelMetadataRequest: protoType('inference.ModelMetadataRequest'),
  ModelMetadataResponse: protoType('inference.ModelMetadataResponse'),
  ServerLiveResponse: protoType('inference.ServerLiveResponse'),
  ServerReadyResponse: protoType('inference.ServerReadyResponse'),
  ModelReadyResponse: protoType('inference.ModelReadyResponse'),
  ServerMetadataResponse: protoType('inference.ServerMetadataResponse'),
  RepositoryIndexRequest: protoType('inference.RepositoryIndexRequest'),
  RepositoryIndexResponse: protoType('inference.RepositoryIndexResponse'),
};
