"""Predict over gRPC with the stock tensorflow_serving.apis client, in each TensorProto form a
client may send, checked against the outputs the frameworks computed in Python."""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from serving_client import (HALF_PLUS_TWO_MODELS, MLP_MODELS, content_tensor, float_val_tensor,
                            predict_request, reference_cases as cases)


def assert_typed_float_output(tensor, expected: np.ndarray):
    """TF-Serving answers Predict with typed fields (float_val), not tensor_content."""
    assert tensor.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in tensor.tensor_shape.dim] == list(expected.shape)
    assert not tensor.tensor_content
    np.testing.assert_allclose(np.array(tensor.float_val, np.float32), expected.reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(tf.make_ndarray(tensor), expected, rtol=1e-6)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_float_val_input(prediction_stub, reference, model):
    for x, y in cases(reference, model):
        response = prediction_stub.Predict(predict_request(model, {"x": float_val_tensor(x.tolist(), x.shape)}))
        assert list(response.outputs) == ["y"]
        assert_typed_float_output(response.outputs["y"], y)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_tensor_content_input(prediction_stub, reference, model):
    for x, y in cases(reference, model):
        response = prediction_stub.Predict(predict_request(model, {"x": content_tensor(x)}))
        assert_typed_float_output(response.outputs["y"], y)


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_single_value_broadcasts_to_shape(prediction_stub, model):
    # One float_val with a shape of 4 elements means four copies of it (TensorProto's rule).
    response = prediction_stub.Predict(predict_request(model, {"x": float_val_tensor([3.0], [4])}))
    assert_typed_float_output(response.outputs["y"], np.full(4, 3.5, np.float32))


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_response_names_the_model_version_and_signature(prediction_stub, model):
    response = prediction_stub.Predict(predict_request(model, {"x": float_val_tensor([1.0], [1])}))
    assert response.model_spec.name == model
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"


@pytest.mark.parametrize("model", HALF_PLUS_TWO_MODELS)
def test_explicit_version_signature_and_output_filter(prediction_stub, model):
    request = predict_request(model, {"x": float_val_tensor([2.0, 4.0], [2])}, version=1,
                              signature_name="serving_default", output_filter=["y"])
    response = prediction_stub.Predict(request)
    assert response.model_spec.version.value == 1
    assert_typed_float_output(response.outputs["y"], np.array([3.0, 4.0], np.float32))


@pytest.mark.parametrize("model", MLP_MODELS)
def test_mlp_matches_reference(prediction_stub, reference, model):
    for x, y in cases(reference, model):
        response = prediction_stub.Predict(predict_request(model, {"x": content_tensor(x)}))
        output = response.outputs["y"]
        assert [d.size for d in output.tensor_shape.dim] == list(y.shape)
        np.testing.assert_allclose(tf.make_ndarray(output), y, rtol=1e-5, atol=1e-5)


def test_mlp_same_weights_same_answer_in_both_frameworks(prediction_stub):
    x = np.random.default_rng(7).standard_normal((8, 512)).astype(np.float32)
    tf_y, torch_y = (tf.make_ndarray(prediction_stub.Predict(predict_request(m, {"x": content_tensor(x)})).outputs["y"])
                     for m in MLP_MODELS)
    assert tf_y.shape == torch_y.shape == (8, 512)
    assert np.abs(tf_y).max() > 0.1  # a real answer, not zeros
    np.testing.assert_allclose(tf_y, torch_y, rtol=1e-4, atol=1e-4)
