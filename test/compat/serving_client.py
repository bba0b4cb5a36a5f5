"""Request builders and assertions over the stock clients: tensorflow_serving.apis (gRPC) and
requests (REST). Nothing here is duoserve's own code."""
import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import model_management_pb2, predict_pb2
from tensorflow_serving.config import model_server_config_pb2

from duoserve_process import MODELS_CONFIG

HALF_PLUS_TWO_MODELS = ["half_plus_two", "half_plus_two_torch"]
MLP_MODELS = ["mlp_tf", "mlp_torch"]


def session_config() -> model_server_config_pb2.ModelServerConfig:
    """The config the session's server started with (var/models/models.config)."""
    return text_format.Parse(MODELS_CONFIG.read_text(), model_server_config_pb2.ModelServerConfig())


def reload(model_stub, config, metric_names=()):
    """HandleReloadConfigRequest; it answers once every added model is AVAILABLE."""
    request = model_management_pb2.ReloadConfigRequest(config=config, metric_names=list(metric_names))
    return model_stub.HandleReloadConfigRequest(request, timeout=60)


def shape_proto(shape) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape])


def float_val_tensor(values, shape) -> tensor_pb2.TensorProto:
    """A DT_FLOAT TensorProto carried in the typed `float_val` field (one value broadcasts)."""
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape_proto(shape), float_val=values)


def content_tensor(array: np.ndarray) -> tensor_pb2.TensorProto:
    """What most clients send: tf.make_tensor_proto packs a numpy array into tensor_content."""
    proto = tf.make_tensor_proto(array)
    assert proto.tensor_content and not proto.float_val
    return proto


def reference_cases(reference, model):
    """(x, y) float32 arrays per case of reference.json for a model with input x and output y."""
    pairs = []
    for case in reference[model]["cases"]:
        x, y = case["inputs"]["x"], case["outputs"]["y"]
        pairs.append((np.array(x["values"], np.float32).reshape(x["shape"]),
                      np.array(y["values"], np.float32).reshape(y["shape"])))
    assert pairs, f"reference.json has no cases for {model}"
    return pairs


def predict_request(model, inputs, *, version=None, label=None, signature_name=None, output_filter=()):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    if signature_name is not None:
        request.model_spec.signature_name = signature_name
    for alias, tensor in inputs.items():
        request.inputs[alias].CopyFrom(tensor)
    request.output_filter.extend(output_filter)
    return request


def expect_rpc_error(call, request, code: grpc.StatusCode) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=30)
    assert raised.value.code() == code, f"{raised.value.code()}: {raised.value.details()}"
    assert raised.value.details(), "an error status carries a message"
    return raised.value


def expect_http_error(reply: requests.Response, status: int) -> str:
    """TF-Serving answers REST errors as {"error": "<message>"}."""
    assert reply.status_code == status, f"HTTP {reply.status_code}: {reply.text[:500]}"
    message = reply.json()["error"]
    assert isinstance(message, str) and message
    return message


def rest_model_url(rest_url, model, *, version=None, label=None) -> str:
    url = f"{rest_url}/v1/models/{model}"
    if version is not None:
        url += f"/versions/{version}"
    if label is not None:
        url += f"/labels/{label}"
    return url


def assert_grpc_serving(prediction_stub) -> None:
    """A good request, after a bad one: the server (and both frameworks) still answer."""
    for model in HALF_PLUS_TWO_MODELS:
        response = prediction_stub.Predict(predict_request(model, {"x": float_val_tensor([1.0, 2.0, 5.0], [3])}),
                                           timeout=30)
        assert list(response.outputs["y"].float_val) == [2.5, 3.0, 4.5]


def assert_rest_serving(rest_url) -> None:
    for model in HALF_PLUS_TWO_MODELS:
        reply = requests.post(f"{rest_url}/v1/models/{model}:predict", json={"instances": [1.0, 2.0, 5.0]},
                              timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"predictions": [2.5, 3.0, 4.5]}
