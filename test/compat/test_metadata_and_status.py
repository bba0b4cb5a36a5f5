"""GetModelMetadata and GetModelStatus over gRPC (stock stubs) and REST."""
import json

import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from duoserve_process import REPO
from serving_client import HALF_PLUS_TWO_MODELS, MLP_MODELS, predict_request, reload, rest_model_url, session_config

MODELS = HALF_PLUS_TWO_MODELS + MLP_MODELS
EXAMPLES = REPO / "var" / "models" / "examples"
TORCH_FIXTURES = REPO / "var" / "models" / "test" / "pytorch"  # test/fixtures/export_torch_fixtures.py
SHAPES = {"half_plus_two": [-1], "half_plus_two_torch": [-1], "mlp_tf": [-1, 512], "mlp_torch": [-1, 512]}
TORCH_MODELS = {"half_plus_two_torch", "mlp_torch"}
AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE


def saved_model_signatures(model) -> dict:
    """The SignatureDefs as TensorFlow wrote them into saved_model.pb."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((EXAMPLES / model / "1" / "saved_model.pb").read_bytes())
    return dict(saved_model.meta_graphs[0].signature_def)


def grpc_metadata(prediction_stub, model) -> get_model_metadata_pb2.GetModelMetadataResponse:
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = model
    request.metadata_field.append("signature_def")
    return prediction_stub.GetModelMetadata(request, timeout=30)


@pytest.mark.parametrize("model", MODELS)
def test_grpc_metadata_signature_def_map(prediction_stub, model):
    response = grpc_metadata(prediction_stub, model)
    assert response.model_spec.name == model
    assert response.model_spec.version.value == 1
    packed = response.metadata["signature_def"]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert packed.Unpack(signature_map)

    serving = signature_map.signature_def["serving_default"]
    assert serving.method_name == "tensorflow/serving/predict"
    assert list(serving.inputs) == ["x"] and list(serving.outputs) == ["y"]
    for info in (serving.inputs["x"], serving.outputs["y"]):
        assert info.dtype == types_pb2.DT_FLOAT
        assert not info.tensor_shape.unknown_rank
        assert [d.size for d in info.tensor_shape.dim] == SHAPES[model]
    if model in TORCH_MODELS:
        # Tensor names come from signature.json: the forward() argument and the native output.
        assert serving.inputs["x"].name == "x" and serving.outputs["y"].name == "output_0"
    else:
        # TF-Serving returns the SavedModel's signature_def map as it is, every entry included.
        assert dict(signature_map.signature_def) == saved_model_signatures(model)


@pytest.fixture(scope="module")
def dict_models(model_stub):
    """The session's models plus two TorchScript fixtures returning Dict[str, Tensor] without a
    signature.json: dict_out returns a dict literal, computed_keys builds its keys in a loop."""
    config = session_config()
    for name in ("dict_out", "computed_keys"):
        entry = config.model_config_list.config.add(name=name, model_platform="pytorch")
        entry.base_path = str(TORCH_FIXTURES / name)
    reload(model_stub, config)
    yield
    reload(model_stub, session_config())


def torch_fixture_reference(model) -> dict:
    return json.loads((TORCH_FIXTURES / model / "reference.json").read_text())


def serving_signature(prediction_stub, model):
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert grpc_metadata(prediction_stub, model).metadata["signature_def"].Unpack(signature_map)
    return signature_map.signature_def["serving_default"]


def test_grpc_metadata_lists_torchscript_dict_keys_that_predict_returns(prediction_stub, dict_models):
    serving = serving_signature(prediction_stub, "dict_out")
    assert sorted(serving.outputs) == ["classes", "probabilities"]
    for alias, info in serving.outputs.items():
        assert info.name == alias
    # TorchScript declares no dtypes: DT_INVALID, any dtype accepted (README, PyTorch models).
    assert serving.inputs["logits"].dtype == types_pb2.DT_INVALID
    assert serving.inputs["logits"].tensor_shape.unknown_rank

    logits = torch_fixture_reference("dict_out")["inputs"]["logits"]
    request = predict_request("dict_out", {"logits": tf.make_tensor_proto(
        np.array(logits["values"], np.float32).reshape(logits["shape"]))})
    response = prediction_stub.Predict(request, timeout=30)
    assert sorted(response.outputs) == sorted(serving.outputs)
    assert response.outputs["classes"].dtype == types_pb2.DT_INT64
    expected = torch_fixture_reference("dict_out")["outputs"]["classes"]["values"]
    assert tf.make_ndarray(response.outputs["classes"]).tolist() == expected


def test_torchscript_dict_with_computed_keys_lists_no_outputs_and_says_why(prediction_stub, server, dict_models):
    assert dict(serving_signature(prediction_stub, "computed_keys").outputs) == {}
    assert "whose output names only a run can tell" in server.log_tail(200_000)
    x = torch_fixture_reference("computed_keys")["inputs"]["x"]
    request = predict_request("computed_keys", {"x": tf.make_tensor_proto(
        np.array(x["values"], np.float32).reshape(x["shape"]))})
    assert sorted(prediction_stub.Predict(request, timeout=30).outputs) == ["head_0", "head_1"]


def test_rest_metadata_lists_torchscript_dict_keys(rest_url, dict_models):
    reply = requests.get(rest_model_url(rest_url, "dict_out") + "/metadata", timeout=30)
    assert reply.status_code == 200, reply.text[:500]
    serving = reply.json()["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sorted(serving["outputs"]) == ["classes", "probabilities"]
    assert serving["inputs"]["logits"]["dtype"] == "DT_INVALID"


@pytest.mark.parametrize("model", MODELS)
def test_rest_metadata(rest_url, model):
    reply = requests.get(rest_model_url(rest_url, model) + "/metadata", timeout=30)
    assert reply.status_code == 200, reply.text[:500]
    body = reply.json()
    assert body["model_spec"]["name"] == model
    assert str(body["model_spec"]["version"]) == "1"
    serving = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert serving["method_name"] == "tensorflow/serving/predict"
    for info in (serving["inputs"]["x"], serving["outputs"]["y"]):
        assert info["dtype"] == "DT_FLOAT"
        assert [int(d["size"]) for d in info["tensor_shape"]["dim"]] == SHAPES[model]  # int64: a JSON string


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("version", [None, 1])
def test_grpc_model_status(model_stub, model, version):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    response = model_stub.GetModelStatus(request, timeout=30)
    assert len(response.model_version_status) == 1
    status = response.model_version_status[0]
    assert status.version == 1
    assert status.state == AVAILABLE
    assert status.status.error_code == 0 and status.status.error_message == ""


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("version", [None, 1])
def test_rest_model_status(rest_url, model, version):
    reply = requests.get(rest_model_url(rest_url, model, version=version), timeout=30)
    assert reply.status_code == 200, reply.text[:500]
    assert reply.json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}, \
        json.dumps(reply.json())
