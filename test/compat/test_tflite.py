"""TensorFlow Lite models under --prefer_tflite_model, as TF-Serving clients see them: a server of
this module's own serves test/fixtures/export_tflite_fixtures.py's models (made by
tf.lite.TFLiteConverter) under the "tensorflow" model_platform; the stock client's Predict and
GetModelMetadata, and REST predict, get tf.lite.Interpreter's answers and the model's SignatureDefs."""
import json
import shutil
import tempfile
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc,
                                     prediction_service_pb2_grpc)

from duoserve_process import REPO, DuoserveProcess
from serving_client import content_tensor, expect_rpc_error, float_val_tensor, predict_request, rest_model_url

FIXTURES = REPO / "var" / "models" / "test" / "tflite"
# model name -> fixture directory
MODELS = {"half_plus_two_tflite": "half_plus_two", "half_plus_two_v1_tflite": "half_plus_two_v1",
          "half_plus_two_both": "half_plus_two_both", "two_signatures_tflite": "two_signatures"}


def reference(model):
    return json.loads((FIXTURES / MODELS[model] / "reference.json").read_text())


@pytest.fixture(scope="module")
def tflite_server():
    if not FIXTURES.exists():
        pytest.fail(f"{FIXTURES} is missing; scripts/setup.sh exports it", pytrace=False)
    config_dir = Path(tempfile.mkdtemp(prefix="duoserve-tflite-"))
    config = config_dir / "models.config"
    config.write_text("model_config_list {\n" + "".join(
        f'  config {{ name: "{name}" base_path: "{FIXTURES / fixture}" model_platform: "tensorflow" }}\n'
        for name, fixture in MODELS.items()) + "}\n")
    server = DuoserveProcess.start(config=config, log_name="tflite.log",
                                   flags=("--prefer_tflite_model", "--num_tflite_pools=2"))
    try:
        server.wait_until_available(120)
        yield server
    finally:
        server.stop()
        shutil.rmtree(config_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def channel(tflite_server):
    channel = grpc.insecure_channel(tflite_server.grpc_target)
    yield channel
    channel.close()


@pytest.mark.parametrize("model", ["half_plus_two_tflite", "half_plus_two_v1_tflite"])  # v1: no SignatureDefs
def test_grpc_predict_half_plus_two(channel, model):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    case = reference(model)["cases"][0]
    x = np.array(case["inputs"]["x"]["values"], np.float32)
    for tensor in (float_val_tensor(x.tolist(), x.shape), content_tensor(x)):
        response = stub.Predict(predict_request(model, {"x": tensor}), timeout=30)
        assert list(response.outputs) == ["y"]
        assert response.model_spec.name == model and response.model_spec.version.value == 1
        assert response.model_spec.signature_name == "serving_default"
        output = response.outputs["y"]
        assert output.dtype == types_pb2.DT_FLOAT
        np.testing.assert_allclose(tf.make_ndarray(output), case["outputs"]["y"]["values"], rtol=1e-6)
        np.testing.assert_allclose(tf.make_ndarray(output), x * 0.5 + 2, rtol=1e-6)


def test_get_model_metadata_is_the_models_signature_defs(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    for model in ("half_plus_two_tflite", "half_plus_two_v1_tflite", "two_signatures_tflite"):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = model
        response = stub.GetModelMetadata(request, timeout=30)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        expected = reference(model)["signatures"]
        assert sorted(signatures.signature_def) == sorted(expected)
        for key, signature in signatures.signature_def.items():
            assert signature.method_name == "tensorflow/serving/predict"
            for side in ("inputs", "outputs"):
                got = {alias: {"name": info.name, "dtype": info.dtype,
                               "shape": [d.size for d in info.tensor_shape.dim]}
                       for alias, info in getattr(signature, side).items()}
                assert got == expected[key][side], f"{model} {key} {side}"


def test_named_int32_signature_and_bad_requests(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    a, b = np.array([1, 2], np.int32), np.array([10, 20], np.int32)
    response = stub.Predict(predict_request("two_signatures_tflite", {"a": content_tensor(a), "b": content_tensor(b)},
                                            signature_name="add"), timeout=30)
    assert response.outputs["sum"].dtype == types_pb2.DT_INT32
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["sum"]), [11, 22])
    wrong_shape = predict_request("two_signatures_tflite", {"a": content_tensor(np.array([1, 2, 3], np.int32)),
                                                            "b": content_tensor(b)}, signature_name="add")
    error = expect_rpc_error(stub.Predict, wrong_shape, grpc.StatusCode.INVALID_ARGUMENT)
    assert len(error.details()) < 500
    missing = predict_request("two_signatures_tflite", {"a": content_tensor(a)}, signature_name="add")
    expect_rpc_error(stub.Predict, missing, grpc.StatusCode.INVALID_ARGUMENT)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    response = stub.Predict(predict_request("two_signatures_tflite", {"x": content_tensor(x)}), timeout=30)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["total"]), [3, 12])
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["scaled"]), x * [1, 2, 3])


def test_version_with_both_files_serves_model_tflite(channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    x = np.array([1, 2, 5], np.float32)
    response = stub.Predict(predict_request("half_plus_two_both", {"x": content_tensor(x)}), timeout=30)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["y"]), x * 0.5 + 3)  # the SavedModel gives +2


def test_rest_predict_and_status(tflite_server):
    url = rest_model_url(tflite_server.rest_url, "half_plus_two_tflite")
    reply = requests.post(url + ":predict", json={"instances": [1.0, 2.0, 5.0]}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"predictions": [2.5, 3.0, 4.5]}
    status = requests.get(url, timeout=30).json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


def test_model_status_over_grpc(channel):
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "two_signatures_tflite"
    status = stub.GetModelStatus(request, timeout=30)
    assert [v.state for v in status.model_version_status] == [get_model_status_pb2.ModelVersionStatus.AVAILABLE]
