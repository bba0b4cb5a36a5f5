"""The AOTInductor (.pt2) examples, half_plus_two_pt2 and mlp_pt2, as TF-Serving clients see them:
Predict over gRPC with the stock client and over REST, GetModelMetadata, and requests that do
not fit the signature refused with TF-Serving's codes while the server keeps serving."""
import grpc
import numpy as np
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

from serving_client import (assert_grpc_serving, content_tensor, expect_http_error, expect_rpc_error,
                            float_val_tensor, predict_request, reference_cases, rest_model_url)

HALF_PLUS_TWO = "half_plus_two_pt2"
MLP = "mlp_pt2"


def test_grpc_predict_float_val_and_tensor_content(prediction_stub, reference):
    for x, y in reference_cases(reference, HALF_PLUS_TWO):
        for tensor in (float_val_tensor(x.tolist(), x.shape), content_tensor(x)):
            response = prediction_stub.Predict(predict_request(HALF_PLUS_TWO, {"x": tensor}), timeout=30)
            assert list(response.outputs) == ["y"]
            assert response.model_spec.name == HALF_PLUS_TWO and response.model_spec.version.value == 1
            output = response.outputs["y"]
            assert output.dtype == types_pb2.DT_FLOAT and not output.tensor_content  # typed float_val, as TF-Serving
            np.testing.assert_allclose(tf.make_ndarray(output), y, rtol=1e-6)


def test_grpc_mlp_matches_reference_and_torchscript(prediction_stub, reference):
    for x, y in reference_cases(reference, MLP):
        response = prediction_stub.Predict(predict_request(MLP, {"x": content_tensor(x)}), timeout=30)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["y"]), y, rtol=1e-5, atol=1e-5)
        torchscript = prediction_stub.Predict(predict_request("mlp_torch", {"x": content_tensor(x)}), timeout=30)
        np.testing.assert_allclose(tf.make_ndarray(response.outputs["y"]), tf.make_ndarray(torchscript.outputs["y"]),
                                   rtol=1e-4, atol=1e-4)


def test_rest_predict_rows_and_columns(rest_url, reference):
    url = rest_model_url(rest_url, HALF_PLUS_TWO) + ":predict"
    for x, y in reference_cases(reference, HALF_PLUS_TWO):
        rows = requests.post(url, json={"instances": x.tolist()}, timeout=30)
        assert rows.status_code == 200, rows.text
        np.testing.assert_allclose(np.array(rows.json()["predictions"], np.float32), y, rtol=1e-6)
        columns = requests.post(url, json={"inputs": {"x": x.tolist()}}, timeout=30)
        assert columns.status_code == 200, columns.text
        np.testing.assert_allclose(np.array(columns.json()["outputs"], np.float32), y, rtol=1e-6)
    mlp = requests.post(rest_model_url(rest_url, MLP) + ":predict",
                        json={"instances": reference_cases(reference, MLP)[0][0].tolist()}, timeout=30)
    assert mlp.status_code == 200, mlp.text
    np.testing.assert_allclose(np.array(mlp.json()["predictions"], np.float32), reference_cases(reference, MLP)[0][1],
                               rtol=1e-5, atol=1e-5)


def test_grpc_metadata_shows_the_recorded_signature(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MLP
    response = prediction_stub.GetModelMetadata(request, timeout=30)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_map)
    serving = signature_map.signature_def["serving_default"]
    assert serving.method_name == "tensorflow/serving/predict"
    x, y = serving.inputs["x"], serving.outputs["y"]
    # Positional tensors of the package's flat calling convention; the batch dimension is dynamic.
    assert (x.name, y.name) == ("input_0", "output_0")
    for info in (x, y):
        assert info.dtype == types_pb2.DT_FLOAT
        assert [d.size for d in info.tensor_shape.dim] == [-1, 512]


def test_rest_metadata(rest_url):
    reply = requests.get(rest_model_url(rest_url, HALF_PLUS_TWO) + "/metadata", timeout=30)
    assert reply.status_code == 200, reply.text
    serving = reply.json()["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert serving["inputs"]["x"]["name"] == "input_0" and serving["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert [int(d["size"]) for d in serving["inputs"]["x"]["tensor_shape"]["dim"]] == [-1]


def test_shape_and_dtype_that_do_not_fit_are_refused(prediction_stub, rest_url):
    predict = prediction_stub.Predict
    wrong_rank = predict_request(HALF_PLUS_TWO, {"x": float_val_tensor([1.0, 2.0, 3.0, 4.0], [2, 2])})
    error = expect_rpc_error(predict, wrong_rank, grpc.StatusCode.INVALID_ARGUMENT)
    assert "shape [2,2] does not match the signature's [-1]" in error.details()
    narrow = predict_request(MLP, {"x": content_tensor(np.ones((2, 511), np.float32))})
    expect_rpc_error(predict, narrow, grpc.StatusCode.INVALID_ARGUMENT)
    doubles = predict_request(HALF_PLUS_TWO, {"x": content_tensor(np.ones(3, np.float64))})
    expect_rpc_error(predict, doubles, grpc.StatusCode.INVALID_ARGUMENT)
    reply = requests.post(rest_model_url(rest_url, HALF_PLUS_TWO) + ":predict",
                          json={"instances": [[1.0, 2.0], [3.0, 4.0]]}, timeout=30)
    assert "does not match" in expect_http_error(reply, 400)  # REST checks shapes itself, in its words
    assert_grpc_serving(prediction_stub)
    response = predict(predict_request(HALF_PLUS_TWO, {"x": float_val_tensor([1.0, 2.0, 5.0], [3])}), timeout=30)
    assert list(response.outputs["y"].float_val) == [2.5, 3.0, 4.5]
