"""The example chain features_to_ranker (features, a TensorFlow model, feeding ranker, a PyTorch
model, inside one request) through the stock clients: it answers as any model does, with the
numbers of the two models called one after the other."""
import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, model_pb2

from serving_client import content_tensor, expect_rpc_error, predict_request

CHAIN = "features_to_ranker"
TIMING = (("x-duoserve-chain-timing", "1"),)


@pytest.fixture(autouse=True)
def chain_is_served(server, reference):
    if CHAIN not in server.models or CHAIN not in reference:
        pytest.fail(f"{CHAIN} is not in var/models/models.config and reference.json: scripts/export_models.py "
                    "lists the example chains (models.ranking.CHAINS) once bin/duoserve registers the chain "
                    "platform", pytrace=False)


def chain_cases(reference):
    """(x, score) float32 arrays per case of reference.json for the chain."""
    cases = []
    for case in reference[CHAIN]["cases"]:
        x, score = case["inputs"]["x"], case["outputs"]["score"]
        cases.append((np.array(x["values"], np.float32).reshape(x["shape"]),
                      np.array(score["values"], np.float32).reshape(score["shape"])))
    assert cases, f"reference.json has no cases for {CHAIN}"
    return cases


def test_predict_matches_the_two_models_run_in_python(prediction_stub, reference):
    for x, score in chain_cases(reference):
        response = prediction_stub.Predict(predict_request(CHAIN, {"x": content_tensor(x)}), timeout=30)
        assert list(response.outputs) == ["score"]
        output = response.outputs["score"]
        assert output.dtype == types_pb2.DT_FLOAT and not output.tensor_content  # typed fields, as TF-Serving
        np.testing.assert_allclose(tf.make_ndarray(output), score, rtol=1e-5)
        assert response.model_spec.name == CHAIN
        assert response.model_spec.version.value == 1
        assert response.model_spec.signature_name == "serving_default"


def test_predict_equals_calling_the_models_in_turn(prediction_stub, reference):
    x, _ = chain_cases(reference)[-1]
    features = prediction_stub.Predict(predict_request("features", {"x": content_tensor(x)}), timeout=30)
    scored = prediction_stub.Predict(
        predict_request("ranker", {"features": content_tensor(tf.make_ndarray(features.outputs["features"]))}),
        timeout=30)
    chained = prediction_stub.Predict(predict_request(CHAIN, {"x": content_tensor(x)}), timeout=30)
    np.testing.assert_array_equal(tf.make_ndarray(chained.outputs["score"]), tf.make_ndarray(scored.outputs["score"]))


def test_step_timings_on_request(prediction_stub, reference):
    x, _ = chain_cases(reference)[0]
    request = predict_request(CHAIN, {"x": content_tensor(x)})
    _, plain = prediction_stub.Predict.with_call(request, timeout=30)
    assert not [key for key, _ in plain.trailing_metadata() if key.startswith("x-duoserve-step-")]
    _, timed = prediction_stub.Predict.with_call(request, metadata=TIMING, timeout=30)
    steps = {key: value for key, value in timed.trailing_metadata() if key.startswith("x-duoserve-step-")}
    assert sorted(steps) == ["x-duoserve-step-featurize-us", "x-duoserve-step-rank-us"]
    assert all(value.isdigit() for value in steps.values())


def test_metadata_describes_the_chain_signature(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=model_pb2.ModelSpec(name=CHAIN),
                                                             metadata_field=["signature_def"])
    response = prediction_stub.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signatures)
    signature = signatures.signature_def["serving_default"]
    assert signature.method_name == "tensorflow/serving/predict"
    assert signature.inputs["x"].dtype == types_pb2.DT_FLOAT
    assert [d.size for d in signature.inputs["x"].tensor_shape.dim] == [-1, 32]
    assert signature.outputs["score"].name == "rank:score"
    assert [d.size for d in signature.outputs["score"].tensor_shape.dim] == [-1]


def test_a_failing_step_is_named_with_its_code(prediction_stub):
    request = predict_request(CHAIN, {"x": content_tensor(np.zeros((1, 31), np.float32))})
    error = expect_rpc_error(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT)
    assert error.details().startswith("step 'featurize' (model features): ")


def test_rest_predict_and_timing_headers(rest_url, reference):
    for x, score in chain_cases(reference):
        url = f"{rest_url}/v1/models/{CHAIN}:predict"
        reply = requests.post(url, json={"instances": x.tolist()}, headers=dict(TIMING), timeout=30)
        assert reply.status_code == 200, reply.text
        np.testing.assert_allclose(np.array(reply.json()["predictions"], np.float32), score, rtol=1e-5)
        assert reply.headers["x-duoserve-step-featurize-us"].isdigit()
        assert reply.headers["x-duoserve-step-rank-us"].isdigit()
